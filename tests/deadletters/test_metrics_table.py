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
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from chispa import assert_df_equality
from corpus import CASES, FILTERED, OUTPUT, Case
from deadletter_kit import produce, registry, write_pipeline
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StructType

from spark_enrich import Pipeline
from spark_enrich.accounting import RunReport
from spark_enrich.metrics import METRICS_SCHEMA
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


def _metrics(spark: SparkSession, metrics_path: Path, run: Run) -> DataFrame:
    table = spark.read.format("delta").load(str(metrics_path))
    return table.where(F.col("run_id") == run.report.run_id).localCheckpoint()


def _filtered_by_executor() -> dict[str, int]:
    """From the corpus, not from the run: tables hold no trace of filtered events."""
    types = [json.loads(c.payload or b"")["event_type"] for c in EVENTS if c.expect == FILTERED]
    return {name: types.count(event_type) for name, event_type in EXECUTOR_TYPES.items()}


def _check(spark: SparkSession, metrics_path: Path, run: Run) -> DataFrame:
    """Assert the run's metrics rows against its report and its tables; return the rows."""
    rows = _metrics(spark, metrics_path, run)
    report = run.report
    assert sorted(r["batch_id"] for r in rows.select("batch_id").collect()) == sorted(
        b.batch_id for b in report.batches
    )
    assert rows.where(F.col("pipeline") != "hostile").count() == 0
    assert rows.where(F.col("recorded_at").isNull()).count() == 0

    per_executor = (
        rows.select(F.explode("executors").alias("e"))
        .groupBy(F.col("e.executor").alias("executor"), F.col("e.version").alias("version"))
        .agg(*(F.sum(f"e.{n}").alias(n) for n in ("input", "filtered", "output", "dead_lettered")))
    )
    # Read back == the run's own per-executor counts.
    expected_counts = spark.createDataFrame(
        [
            (c.executor, c.version, c.input, c.filtered, c.output, c.dead_lettered)
            for c in report.by_executor().values()
        ],
        "executor STRING, version STRING, input BIGINT, filtered BIGINT, output BIGINT, "
        "dead_lettered BIGINT",
    )
    assert_df_equality(per_executor, expected_counts, ignore_row_order=True, ignore_nullable=True)

    # Read back == what is in the tables: output rows per executor in the sink, dead letters
    # per executor; filtered from the corpus.
    sink = run.pipeline.output()
    dead = run.pipeline.dead_letters()
    in_tables = (
        sink.groupBy(F.col("_executor").alias("executor"))
        .agg(F.count(F.lit(1)).alias("output"))
        .join(
            dead.where(F.col("executor").isNotNull())
            .groupBy("executor")
            .agg(F.count(F.lit(1)).alias("dead_lettered")),
            "executor",
            "full",
        )
        .fillna(0)
    )
    filtered = spark.createDataFrame(
        list(_filtered_by_executor().items()), "executor STRING, filtered BIGINT"
    )
    assert_df_equality(
        per_executor.select("executor", "output", "dead_lettered", "filtered"),
        in_tables.join(filtered, "executor").select(
            "executor", "output", "dead_lettered", "filtered"
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )

    decode = rows.select(F.explode("decode_dead_lettered").alias("reason", "n"))
    assert_df_equality(
        decode.groupBy("reason").agg(F.sum("n").alias("n")),
        dead.where(F.col("executor").isNull() & (F.col("reason") != "unknown_event_type"))
        .groupBy("reason")
        .agg(F.count(F.lit(1)).alias("n")),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    totals = rows.agg(
        *(
            F.sum(n).alias(n)
            for n in ("source_rows", "unrouted_dead_lettered", "dead_lettered",
                      "dead_letters_written", "output", "sink_rows_added")
        )
    ).first()  # fmt: skip
    assert totals is not None
    assert totals["source_rows"] == len(EVENTS)
    assert totals["unrouted_dead_lettered"] == dead.where("reason = 'unknown_event_type'").count()
    assert totals["dead_lettered"] == totals["dead_letters_written"] == dead.count()
    assert totals["output"] == totals["sink_rows_added"] == sink.count()
    # The slice's outcomes, from the corpus: the tables hold every event the run did not filter.
    assert sink.count() == sum(c.expect == OUTPUT for c in EVENTS)
    assert dead.count() == sum(c.expect not in (OUTPUT, FILTERED) for c in EVENTS)
    return rows


def test_batch_run_writes_its_metrics(
    spark: SparkSession, metrics_path: Path, batch_run: Run
) -> None:
    rows = _check(spark, metrics_path, batch_run)
    assert [r["chunk"] for r in rows.select("chunk").collect()] == [None]


def test_backfill_writes_its_metrics(
    spark: SparkSession, metrics_path: Path, backfill_run: Run
) -> None:
    rows = _check(spark, metrics_path, backfill_run)
    assert [r["chunk"] for r in rows.select("chunk").collect()] == ["2026-01-05/2026-01-06"]


@pytest.mark.kafka
def test_stream_writes_its_metrics(
    spark: SparkSession, metrics_path: Path, stream_run: Run
) -> None:
    rows = _check(spark, metrics_path, stream_run)
    assert rows.where(F.col("chunk").isNotNull()).count() == 0


def test_a_metrics_table_that_cannot_take_the_rows_never_fails_the_data_path(
    spark: SparkSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A table of another layout at the metrics path (executors as JSON text): appends fail.
    metrics = tmp_path / "old-metrics"
    old = spark.createDataFrame([("hostile", "[]")], "pipeline STRING, executors STRING")
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
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("Delta metrics table") :][:1200]
    executors = METRICS_SCHEMA["executors"].dataType
    assert isinstance(executors, ArrayType) and isinstance(executors.elementType, StructType)
    names = [*METRICS_SCHEMA.fieldNames(), *executors.elementType.fieldNames()]
    assert [n for n in names if f"`{n}`" not in section] == []
