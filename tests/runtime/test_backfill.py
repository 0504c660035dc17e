"""Backfills: chunked replaceWhere through the same processing function; re-runs give the same
table, finished chunks are skipped unless forced, rows outside the range are untouched, plain
progress lines off a terminal, a Kafka time range, and a stream appending at the same time."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.runtime import (
    DEMO_YAML,
    Layout,
    committed_batches,
    demo_pipeline,
    event,
    overrides,
    produce,
    visible,
    wait_for,
)
from typer.testing import CliRunner

from spark_enrich.cli.app import app
from spark_enrich.pipeline import Pipeline
from spark_enrich.runtime.stream import await_stream, start_stream
from spark_enrich.testing.kafka import LocalKafkaBroker

FIRST, LAST = date(2026, 1, 2), date(2026, 1, 5)  # three one-day chunks
NO_KAFKA = "127.0.0.1:1"  # the archive pipelines never connect to Kafka


def version_of(spark: SparkSession, path: Path) -> int:
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, str(path)).history(1).first()
    assert row is not None
    return int(row["version"])


def as_of(spark: SparkSession, path: Path, version: int) -> DataFrame:
    return spark.read.format("delta").option("versionAsOf", version).load(str(path))


def in_range(df: DataFrame, start: date, end: date) -> DataFrame:
    return df.where((F.col("event_date") >= F.lit(start)) & (F.col("event_date") < F.lit(end)))


def test_backfill_twice_over_a_range_leaves_identical_content_and_counts(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    layout = Layout(tmp_path)
    pipeline = demo_pipeline(spark, demo_data, NO_KAFKA, overrides(layout, ["unused"]))

    first = pipeline.backfill(FIRST, LAST, progress=False)
    after_first = version_of(spark, layout.sink)
    again = pipeline.backfill(FIRST, LAST, force=True, progress=False)

    assert (
        [b.chunk for b in first.batches]
        == [b.chunk for b in again.batches]
        == [
            "2026-01-02/2026-01-03",
            "2026-01-03/2026-01-04",
            "2026-01-04/2026-01-05",
        ]
    )
    assert version_of(spark, layout.sink) > after_first  # the forced run did rewrite the range
    before, now = as_of(spark, layout.sink, after_first), pipeline.output()
    # Rows written (the same event twice in the archive is one row: merge mode dedupes by key).
    assert now.count() == before.count() == first.total("sink_rows_added") > 0
    assert again.total("sink_rows_added") == first.total("sink_rows_added")
    assert now.select("event_id").distinct().count() == now.count()
    assert_df_equality(visible(now), visible(before), ignore_row_order=True)
    assert in_range(now, FIRST, LAST).count() == now.count()


def test_finished_chunks_are_skipped_and_force_redoes_them(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    layout = Layout(tmp_path)
    pipeline = demo_pipeline(spark, demo_data, NO_KAFKA, overrides(layout, ["unused"]))
    pipeline.backfill(FIRST, date(2026, 1, 3), progress=False)  # as if interrupted after one

    resumed = pipeline.backfill(FIRST, LAST, progress=False)
    nothing_left = pipeline.backfill(FIRST, LAST, progress=False)
    forced = pipeline.backfill(FIRST, LAST, force=True, progress=False)

    assert [b.chunk for b in resumed.batches] == ["2026-01-03/2026-01-04", "2026-01-04/2026-01-05"]
    assert nothing_left.batches == []
    assert len(forced.batches) == 3


def test_rows_outside_the_range_are_untouched_and_inside_are_replaced(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    layout = Layout(tmp_path)
    pipeline = demo_pipeline(spark, demo_data, NO_KAFKA, overrides(layout, ["unused"]))
    pipeline.run_batch()  # the whole archive, 2026-01-01 .. 2026-01-07
    before_version = version_of(spark, layout.sink)
    before = as_of(spark, layout.sink, before_version)
    start, end = date(2026, 1, 3), date(2026, 1, 5)

    report = pipeline.backfill(start, end, progress=False)

    after = pipeline.output()
    outside = ~((F.col("event_date") >= F.lit(start)) & (F.col("event_date") < F.lit(end)))
    # Outside the range: the very same rows, engine metadata (ingest time, run id) included.
    assert before.where(outside).count() > 0
    assert_df_equality(after.where(outside), before.where(outside), ignore_row_order=True)
    # Inside: rewritten by this run, with the same content.
    replaced = in_range(after, start, end)
    assert replaced.count() == report.total("sink_rows_added") > 0
    assert {r["_run_id"] for r in replaced.select("_run_id").distinct().collect()} == {
        pipeline.plan.run_id
    }
    assert_df_equality(
        visible(replaced), visible(in_range(before, start, end)), ignore_row_order=True
    )


def test_backfill_command_prints_plain_progress_lines_off_a_terminal(
    spark: SparkSession,
    demo_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layout = Layout(tmp_path)
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data))
    sets = [arg for value in overrides(layout, ["unused"]) for arg in ("--set", value)]
    args = ["backfill", str(DEMO_YAML), "--from", "2026-01-02", "--to", "2026-01-04", *sets]

    result = CliRunner().invoke(app, args)
    again = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    line = r"backfill {n}/2 {chunk} \d+ rows, \d+ dead letters \(elapsed \d+s, eta \d+s\)"
    for n, chunk in ((1, "2026-01-02/2026-01-03"), (2, "2026-01-03/2026-01-04")):
        assert re.search(line.format(n=n, chunk=chunk), result.output), result.output
    assert "\x1b[" not in result.output  # no terminal control codes
    assert again.exit_code == 0, again.output
    assert "backfill 1/2 2026-01-02/2026-01-03 already done, skipped" in again.output


@pytest.mark.kafka
def test_backfill_from_kafka_replaces_the_range_of_record_timestamps(
    spark: SparkSession, demo_data: Path, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    topic = f"history-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=2)
    days = [date(2026, 1, d) for d in (1, 2, 3, 4)]
    payloads = [event(i + 100 * n, day) for n, day in enumerate(days) for i in range(40)]
    # Clients stamp records with the event time, so a day of records is a day of events.
    stamps = [
        int(datetime.fromisoformat(json.loads(p)["event_time"][:19]).replace(
            tzinfo=timezone.utc).timestamp() * 1000)
        for p in payloads
    ]  # fmt: skip
    produce(kafka_broker.bootstrap_servers, topic, payloads, timestamps=stamps)
    layout = Layout(tmp_path)
    pipeline = demo_pipeline(
        spark, demo_data, kafka_broker.bootstrap_servers, overrides(layout, [topic])
    )

    report = pipeline.backfill(date(2026, 1, 2), date(2026, 1, 4), source="engagement")

    expected = {json.loads(p)["event_id"] for p in payloads[40:120]}
    rows = pipeline.output().select("event_id", "event_date").collect()
    assert sorted(r["event_id"] for r in rows) == sorted(expected)
    assert report.total("dead_lettered") == 0
    assert {r["event_date"] for r in rows} == {date(2026, 1, 2), date(2026, 1, 3)}


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.mark.kafka
def test_a_kafka_backfill_keeps_events_that_reached_kafka_on_another_day(
    spark: SparkSession, demo_data: Path, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    topic = f"late-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=1)
    midnight = datetime(2026, 1, 4, tzinfo=timezone.utc)
    day3_late = event(86_399, date(2026, 1, 3), prefix="late3-")  # 23:59:59 on the 3rd
    day4 = event(43_200, date(2026, 1, 4), prefix="noon4-")
    day4_late = event(86_399, date(2026, 1, 4), prefix="late4-")  # 23:59:59 on the 4th
    # Records are stamped when they reach Kafka: the two late events a few minutes after
    # midnight, on the next day.
    stamps = [
        _millis(midnight + timedelta(minutes=5)),
        _millis(midnight + timedelta(hours=12)),
        _millis(midnight + timedelta(days=1, minutes=5)),
    ]
    produce(kafka_broker.bootstrap_servers, topic, [day3_late, day4, day4_late], timestamps=stamps)
    layout = Layout(tmp_path)
    pipeline = demo_pipeline(
        spark, demo_data, kafka_broker.bootstrap_servers, overrides(layout, [topic])
    )
    pipeline.run_batch(source="engagement")  # the live table: every event on its own day
    before = {r["event_id"]: r["event_date"] for r in pipeline.output().collect()}
    assert len(before) == 3

    report = pipeline.backfill(date(2026, 1, 4), date(2026, 1, 5), source="engagement")

    after = {r["event_id"]: r["event_date"] for r in pipeline.output().collect()}
    # The 4th is replaced with both of its events (its late one was stamped on the 5th), and
    # the 3rd's late event, read in the margin, stays on the 3rd, written once.
    assert after == before
    assert report.total("outside_range") == 1
    assert report.total("dead_lettered") == 0
    assert report.total("output") == 2


@pytest.mark.kafka
def test_backfill_and_a_stream_write_the_same_table_at_once(
    spark: SparkSession,
    demo_data: Path,
    kafka_broker: LocalKafkaBroker,
    topic_pair: tuple[str, str],
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path)
    bootstrap = kafka_broker.bootstrap_servers
    streamed = demo_pipeline(
        spark,
        demo_data,
        bootstrap,
        overrides(layout, topic_pair, trigger="{kind: processing_time, interval: 1s}"),
    )
    history = demo_pipeline(spark, demo_data, bootstrap, overrides(layout, topic_pair))
    today = date(2026, 1, 7)  # the stream's events; the backfill replaces 2026-01-01 .. 03
    produced: list[str] = []
    backfill_done = threading.Event()

    def producer() -> None:
        n = 0
        while not backfill_done.is_set() or n < 60:
            batch = [event(n + i, today, prefix="live") for i in range(20)]
            produce(bootstrap, topic_pair[0], batch)
            produced.extend(json.loads(p)["event_id"] for p in batch)
            n += 20
            backfill_done.wait(0.5)

    run = start_stream(streamed.plan)
    feeder = threading.Thread(target=producer, daemon=True)
    try:
        feeder.start()
        wait_for(lambda: committed_batches(layout.checkpoint) >= 1, timeout=180, what="stream")
        try:
            report = history.backfill(date(2026, 1, 1), date(2026, 1, 4), progress=False)
        finally:
            backfill_done.set()
            feeder.join(120)
        expected_live = set(produced)

        def stream_caught_up() -> bool:
            live = streamed.output().where(F.col("event_id").startswith("live"))
            return live.count() >= len(expected_live)

        wait_for(stream_caught_up, timeout=300, what="the stream to catch up")
    finally:
        run.stop_requested.set()
        await_stream(run, handle_signals=False)

    table = streamed.output()
    live = [r["event_id"] for r in table.where(F.col("event_date") == today).collect()]
    assert sorted(live) == sorted(expected_live)  # each once: no loss, no duplicate
    backfilled = in_range(table, date(2026, 1, 1), date(2026, 1, 4))
    assert backfilled.count() == report.total("sink_rows_added") > 0
    assert backfilled.select("event_id").distinct().count() == backfilled.count()
    # The two writers really overlapped: stream commits landed between backfill commits.
    commits = table.sparkSession.sql(f"DESCRIBE HISTORY delta.`{layout.sink}`").collect()

    def versions_of(pipeline: Pipeline) -> list[int]:
        run_id = pipeline.plan.run_id
        return [
            int(c["version"])
            for c in commits
            if json.loads(c["userMetadata"] or "{}").get("run_id") == run_id
        ]

    chunk_versions, stream_versions = versions_of(history), versions_of(streamed)
    assert len(chunk_versions) == 3
    assert any(min(chunk_versions) < v < max(chunk_versions) for v in stream_versions), commits
