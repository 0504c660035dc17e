"""``observability.metrics: {kind: delta}``: every runtime (a batch run, an available-now stream
from Kafka, a backfill) appends one row per batch to the metrics table, and what is read back
matches the run's per-executor counts and the rows actually in its sink and dead-letter tables.

The three runs share one metrics table, as the runtimes of one pipeline do; each writes its own
sink and dead letters. The events are a slice of the hostile corpus with unique event ids, so
that every output row is one sink row.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from pyspark.sql import Row, SparkSession
from pyspark.sql import functions as F
from support.corpus import CASES, FILTERED, OUTPUT, Case
from support.deadletters import produce, registry, write_pipeline

from spark_enrich import Pipeline
from spark_enrich.accounting import RunReport
from spark_enrich.testing.kafka import LocalKafkaBroker

NOTES = [
    "a plain valid click",
    "a valid view",
    "zone offset",
    "space separator",
    "the executor's filter drops bots",
    "truncated JSON",
    "plain text",
    "text where BIGINT expected",
    "no event id",
    "no executor",
    "dwell overflows the contract's INT",
]
EVENTS: list[Case] = [next(c for c in CASES if c.note == note) for note in NOTES]
DAY = date(2026, 1, 5)  # every event's day, and the archive's date column
EXECUTOR_TYPES = {"clicks": "pin_click", "views": "pin_view"}


@dataclass
class Run:
    """One runtime's run: its report and the pipeline that wrote its tables."""

    report: RunReport
    pipeline: Pipeline


@pytest.fixture(scope="module")
def metrics_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("metrics") / "table"


def _pipeline(
    spark: SparkSession, folder: Path, metrics: Path, *, bootstrap: str = "127.0.0.1:1",
    topic: str = "unused",
) -> Pipeline:  # fmt: skip
    path = write_pipeline(folder, bootstrap=bootstrap, topic=topic)
    sets = [
        f"observability.metrics={{kind: delta, path: {metrics}}}",
        # The archive's own date column and the runtime's: a backfill reads one day of it.
        "sources.archive.date_column=event_time",
    ]
    return Pipeline.from_yaml(path, spark=spark, registry=registry(), overrides=sets)


def _write_archive(spark: SparkSession, folder: Path) -> None:
    """The Delta source: the payloads (BINARY ``value``) and the day they arrived on."""
    arrived = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=timezone.utc)
    rows = [(bytearray(c.payload) if c.payload is not None else None, arrived) for c in EVENTS]
    frame = spark.createDataFrame(rows, "value BINARY, event_time TIMESTAMP").coalesce(1)
    frame.write.format("delta").save(str(folder / "raw"))


@pytest.fixture(scope="module")
def batch_run(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, metrics_path: Path
) -> Run:
    folder = tmp_path_factory.mktemp("metrics-batch")
    _write_archive(spark, folder)
    pipeline = _pipeline(spark, folder, metrics_path)
    return Run(pipeline.run_batch(), pipeline)


@pytest.fixture(scope="module")
def backfill_run(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, metrics_path: Path
) -> Run:
    folder = tmp_path_factory.mktemp("metrics-backfill")
    _write_archive(spark, folder)
    pipeline = _pipeline(spark, folder, metrics_path)
    return Run(pipeline.backfill(DAY, date(2026, 1, 6), progress=False), pipeline)


@pytest.fixture(scope="module")
def stream_run(
    spark: SparkSession,
    kafka_broker: LocalKafkaBroker,
    tmp_path_factory: pytest.TempPathFactory,
    metrics_path: Path,
) -> Run:
    folder = tmp_path_factory.mktemp("metrics-stream")
    topic = f"metrics-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=2)
    produce(kafka_broker.bootstrap_servers, topic, EVENTS)
    pipeline = _pipeline(
        spark, folder, metrics_path, bootstrap=kafka_broker.bootstrap_servers, topic=topic
    )
    return Run(pipeline.run_stream(source="events", available_now=True), pipeline)


def _metrics(spark: SparkSession, metrics_path: Path, run: Run) -> list[Row]:
    """The run's rows of the metrics table, read back."""
    table = spark.read.format("delta").load(str(metrics_path))
    return table.where(F.col("run_id") == run.report.run_id).collect()


def _filtered_by_executor() -> dict[str, int]:
    """From the corpus, not from the run: tables hold no trace of filtered events."""
    types = [json.loads(c.payload or b"")["event_type"] for c in EVENTS if c.expect == FILTERED]
    return {name: types.count(event_type) for name, event_type in EXECUTOR_TYPES.items()}


def _check(spark: SparkSession, metrics_path: Path, run: Run) -> list[Row]:
    """Assert the run's metrics rows against its report and its tables; return its batch rows.

    Few Spark jobs on purpose (the rows are a handful): one read of the metrics, one count of
    the sink and one of the dead letters; the comparisons are of plain counts."""
    rows = _metrics(spark, metrics_path, run)
    report = run.report
    batch_rows = [r for r in rows if r["executor"] is None]
    executor_rows = [r for r in rows if r["executor"] is not None]
    # One row per batch, and one per executor of each batch.
    assert sorted(r["batch_id"] for r in batch_rows) == sorted(b.batch_id for b in report.batches)
    assert sorted((r["batch_id"], r["executor"]) for r in executor_rows) == sorted(
        (b.batch_id, e.executor) for b in report.batches for e in b.executors
    )
    assert {r["pipeline"] for r in rows} == {"hostile"}
    assert all(r["recorded_at"] is not None for r in rows)

    def total(name: str) -> int:
        """Summed over every row of the run: each count is on one kind of row only."""
        return sum(int(r[name]) for r in rows if r[name] is not None)

    counts = ("input", "filtered", "output", "dead_lettered")
    read_back: dict[tuple[str, str], Counter[str]] = {}
    by_reason: Counter[tuple[str | None, str]] = Counter()
    for row in rows:
        by_reason.update({(row["executor"], k): int(v) for k, v in row["dead_lettered_by_reason"].items()})  # fmt: skip  # noqa: E501
        if row["executor"] is not None:
            read_back.setdefault((row["executor"], row["version"]), Counter()).update(
                {n: int(row[n]) for n in counts}
            )
    # Read back == the run's own per-executor counts.
    reported = report.by_executor().values()
    assert {k: {n: v[n] for n in counts} for k, v in read_back.items()} == {
        (c.executor, c.version): {n: getattr(c, n) for n in counts} for c in reported
    }

    # Read back == what is in the tables: output rows per executor in the sink, dead letters
    # per executor and per reason; filtered from the corpus.
    sink = Counter(
        {r[0]: r[1] for r in run.pipeline.output().groupBy("_executor").count().collect()}
    )
    dead = Counter(
        {
            (r[0], r[1]): r[2]
            for r in run.pipeline.dead_letters().groupBy("executor", "reason").count().collect()
        }
    )
    filtered = _filtered_by_executor()
    for (name, _), got in read_back.items():
        executor_letters = sum(n for (e, _), n in dead.items() if e == name)
        assert (got["output"], got["dead_lettered"], got["filtered"]) == (
            sink[name],
            executor_letters,
            filtered[name],
        ), name
    # Dead letters by executor and reason (decode and unrouted ones on the batch row).
    assert +by_reason == dead
    assert total("source_rows") == len(EVENTS)
    assert total("unrouted_dead_lettered") == dead[(None, "unknown_event_type")]
    assert total("dead_lettered") == total("dead_letters_written") == sum(dead.values())
    assert total("output") == total("sink_rows_added") == sum(sink.values())
    # The slice's outcomes, from the corpus: the tables hold every event the run did not filter.
    assert sum(sink.values()) == sum(c.expect == OUTPUT for c in EVENTS)
    assert sum(dead.values()) == sum(c.expect not in (OUTPUT, FILTERED) for c in EVENTS)
    return batch_rows


def test_batch_run_writes_its_metrics(
    spark: SparkSession, metrics_path: Path, batch_run: Run
) -> None:
    assert [r["chunk"] for r in _check(spark, metrics_path, batch_run)] == [None]


def test_backfill_writes_its_metrics(
    spark: SparkSession, metrics_path: Path, backfill_run: Run
) -> None:
    chunks = [r["chunk"] for r in _check(spark, metrics_path, backfill_run)]
    assert chunks == ["2026-01-05/2026-01-06"]


@pytest.mark.kafka
def test_stream_writes_its_metrics(
    spark: SparkSession, metrics_path: Path, stream_run: Run
) -> None:
    assert {r["chunk"] for r in _check(spark, metrics_path, stream_run)} == {None}


def test_a_metrics_table_that_cannot_take_the_rows_never_fails_the_data_path(
    spark: SparkSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A table of another layout at the metrics path (reasons as a number): appends fail.
    metrics = tmp_path / "old-metrics"
    old = spark.createDataFrame(
        [("hostile", "[]", 0)], "pipeline STRING, executors STRING, dead_lettered_by_reason BIGINT"
    )
    old.write.format("delta").save(str(metrics))
    _write_archive(spark, tmp_path)
    pipeline = _pipeline(spark, tmp_path, metrics)
    with caplog.at_level(logging.ERROR, logger="spark_enrich.metrics"):
        report = pipeline.run_batch()
    assert pipeline.output().count() == sum(c.expect == OUTPUT for c in EVENTS)
    assert report.total("output") == pipeline.output().count()
    failures = [r for r in caplog.records if "METRICS_WRITE_FAILED" in r.getMessage()]
    assert len(failures) == 1 and failures[0].levelno == logging.ERROR
    assert str(metrics) in failures[0].getMessage()
    assert spark.read.format("delta").load(str(metrics)).count() == 1  # nothing appended


def test_the_readme_names_every_metrics_column() -> None:
    from spark_enrich.metrics import METRICS_SCHEMA

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("the Delta metrics table, one row per batch") :][:2500]
    assert [n for n in METRICS_SCHEMA.fieldNames() if f"`{n}`" not in section] == []


def _per_executor(spark: SparkSession, metrics_path: Path, run: Run) -> dict[str, Counter[str]]:
    """The run's counts per executor, summed over its rows of the metrics table."""
    totals: dict[str, Counter[str]] = {}
    for row in _metrics(spark, metrics_path, run):
        if row["executor"] is not None:
            counts = ("input", "filtered", "output", "dead_lettered")
            totals.setdefault(row["executor"], Counter()).update({n: int(row[n]) for n in counts})
    return totals


def _in_tables(run: Run) -> dict[str, tuple[int, int]]:
    """Per executor: its rows in the run's sink and in its dead-letter table."""
    sink: dict[str, int] = dict(run.pipeline.output().groupBy("_executor").count().collect())
    dead: dict[str, int] = dict(run.pipeline.dead_letters().groupBy("executor").count().collect())
    return {name: (sink.get(name, 0), dead.get(name, 0)) for name in EXECUTOR_TYPES}


@pytest.mark.kafka
def test_batch_and_stream_metrics_count_the_same_per_executor_as_their_tables(
    spark: SparkSession, metrics_path: Path, batch_run: Run, stream_run: Run
) -> None:
    batch = _per_executor(spark, metrics_path, batch_run)
    stream = _per_executor(spark, metrics_path, stream_run)
    assert sorted(batch) == sorted(EXECUTOR_TYPES)
    assert batch == stream
    for run in (batch_run, stream_run):
        assert {n: (c["output"], c["dead_lettered"]) for n, c in batch.items()} == _in_tables(run)
