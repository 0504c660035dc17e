"""Backfills that must not lose rows: a Kafka topic stamped by its producers (CreateTime, out of
order) is read whole, a LogAppendTime topic by timestamp offsets; a chunk that would replace
days the sink holds rows for with nothing is refused unless allowed; a table source is selected
on its own date column and the output replaced on the output's."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.runtime import DEMO_YAML, Layout, demo_pipeline, event, overrides, produce
from typer.testing import CliRunner

from spark_enrich.cli.app import app
from spark_enrich.errors import PipelineRunError
from spark_enrich.testing.kafka import LocalKafkaBroker

NO_KAFKA = "127.0.0.1:1"  # the archive pipelines never connect to Kafka
ROWS = "event_id STRING NOT NULL, event_date DATE NOT NULL"


def _millis(payload: str) -> int:
    moment = datetime.strptime(json.loads(payload)["event_time"], "%Y-%m-%dT%H:%M:%S.000Z")
    return int(moment.replace(tzinfo=timezone.utc).timestamp() * 1000)


def _ids(df: DataFrame) -> DataFrame:
    return df.select("event_id", "event_date")


def _expected(spark: SparkSession, rows: list[tuple[str, date]]) -> DataFrame:
    return spark.createDataFrame(rows, ROWS)


def _version(spark: SparkSession, path: Path) -> int:
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, str(path)).history(1).first()
    assert row is not None
    return int(row["version"])


def _create_log_append_time_topic(bootstrap: str, name: str) -> None:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = NewTopic(name, 1, 1, config={"message.timestamp.type": "LogAppendTime"})
    for future in admin.create_topics([topic], operation_timeout=30).values():
        future.result(timeout=60)


@pytest.mark.kafka
def test_a_kafka_backfill_reads_a_createtime_topic_produced_out_of_order_whole(
    spark: SparkSession, demo_data: Path, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    topic = f"createtime-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=1)  # CreateTime: the broker's default
    days = [date(2026, 3, 10), date(2026, 3, 5), date(2026, 3, 6)]  # produced in this order
    payloads = [event(i, day, prefix=f"{day.isoformat()}-") for i, day in enumerate(days)]
    stamps = [_millis(p) for p in payloads]  # each record stamped with its event's time
    produce(kafka_broker.bootstrap_servers, topic, payloads, timestamps=stamps)
    layout = Layout(tmp_path)
    pipeline = demo_pipeline(
        spark, demo_data, kafka_broker.bootstrap_servers, overrides(layout, [topic])
    )
    ids = [(json.loads(p)["event_id"], d) for p, d in zip(payloads, days, strict=True)]
    in_range = _expected(spark, [row for row in ids if row[1] < date(2026, 3, 7)])

    # A batch run of a range takes the records stamped in it, wherever they are in the topic.
    pipeline.run_batch(source="engagement", start=date(2026, 3, 5), end=date(2026, 3, 7))

    assert_df_equality(_ids(pipeline.output()), in_range, ignore_row_order=True)

    report = pipeline.backfill(
        date(2026, 3, 5), date(2026, 3, 7), source="engagement", progress=False
    )

    assert_df_equality(_ids(pipeline.output()), in_range, ignore_row_order=True)
    # Every retained record was read; the 10th's event is left to its own day.
    assert report.total("source_rows") == 3
    assert report.total("output") == 2
    assert report.total("outside_range") == 1


@pytest.mark.kafka
def test_a_kafka_backfill_of_a_log_append_time_topic_reads_by_timestamp_and_refuses_to_empty(
    spark: SparkSession, demo_data: Path, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    topic = f"appendtime-{uuid.uuid4().hex[:8]}"
    bootstrap = kafka_broker.bootstrap_servers
    _create_log_append_time_topic(bootstrap, topic)
    today = datetime.now(timezone.utc).date()
    old, new = event(1, date(2026, 3, 5), prefix="old-"), event(2, today, prefix="new-")
    # The broker stamps both records now, whatever the producer says.
    produce(bootstrap, topic, [old, new], timestamps=[_millis(old), _millis(new)])
    layout = Layout(tmp_path)
    pipeline = demo_pipeline(spark, demo_data, bootstrap, overrides(layout, [topic]))
    pipeline.run_batch(source="engagement")  # the sink holds both days
    before_version = _version(spark, layout.sink)
    before = pipeline.output().collect()

    # Appended long after 2026-03-06 + the lateness: a read by timestamp offsets finds nothing,
    # and the sink's row of the 5th is not replaced with nothing.
    with pytest.raises(PipelineRunError) as refused:
        pipeline.backfill(date(2026, 3, 5), date(2026, 3, 6), source="engagement", progress=False)
    recent = pipeline.backfill(
        today, today + timedelta(days=1), source="engagement", progress=False
    )

    assert refused.value.error_class == "BACKFILL_WOULD_EMPTY"
    assert refused.value.message_parameters["days"] == ["2026-03-05"]
    assert refused.value.message_parameters["source_rows"] == 0
    assert recent.total("source_rows") == 2  # both records were appended in its window
    assert recent.total("output") == 1
    assert recent.total("outside_range") == 1
    assert _version(spark, layout.sink) == before_version + 1  # only the second backfill wrote
    expected = _expected(spark, [("old-000001", date(2026, 3, 5)), ("new-000002", today)])
    assert_df_equality(_ids(pipeline.output()), expected, ignore_row_order=True)
    old_row = [r for r in before if r["event_id"] == "old-000001"]
    assert pipeline.output().where(F.col("event_id") == "old-000001").collect() == old_row


def _write_archive(spark: SparkSession, path: Path, rows: list[tuple[str, date]]) -> None:
    """A raw archive as the demo's: the payload in ``value``, the date in ``event_date`` and the
    Kafka key in ``key`` (the demo pipeline's ``key_column``)."""
    keyed = [(payload, day, json.loads(payload)["user_id"]) for payload, day in rows]
    frame = spark.createDataFrame(keyed, "value STRING, event_date DATE, key STRING")
    frame.write.format("delta").mode("overwrite").save(str(path))


def _archive_rows(days: dict[date, int]) -> list[tuple[str, date]]:
    return [
        (event(i, day, prefix=f"{day.isoformat()}-"), day)
        for day, count in days.items()
        for i in range(count)
    ]


def _ids_of(rows: list[tuple[str, date]]) -> list[tuple[str, date]]:
    return [(json.loads(payload)["event_id"], day) for payload, day in rows]


def test_a_backfill_refuses_to_empty_a_day_the_source_lost_unless_allowed_on_the_cli(
    spark: SparkSession, demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, archive = Layout(tmp_path), tmp_path / "raw"
    fifth, sixth = date(2026, 3, 5), date(2026, 3, 6)
    _write_archive(spark, archive, _archive_rows({fifth: 2, sixth: 3}))
    sets = [*overrides(layout, ["unused"]), f"sources.archive.path={archive}"]
    demo_pipeline(spark, demo_data, NO_KAFKA, sets).run_batch()
    kept = _archive_rows({sixth: 3})
    _write_archive(spark, archive, kept)  # the archive lost the 5th
    before_version = _version(spark, layout.sink)
    before = spark.read.format("delta").load(str(layout.sink))
    before_rows = before.collect()
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data))
    args = ["backfill", str(DEMO_YAML), "--from", "2026-03-05", "--to", "2026-03-07"]
    args += [arg for value in sets for arg in ("--set", value)]

    refused = CliRunner().invoke(app, args)

    assert refused.exit_code == 1, refused.output
    assert "BACKFILL_WOULD_EMPTY" in refused.output
    assert "2026-03-05 (2 rows)" in refused.output
    assert _version(spark, layout.sink) == before_version
    after = spark.read.format("delta").load(str(layout.sink))
    unchanged = spark.createDataFrame(before_rows, before.schema)
    assert_df_equality(after, unchanged, ignore_row_order=True)

    allowed = CliRunner().invoke(app, [*args, "--allow-empty"])

    assert allowed.exit_code == 0, allowed.output
    emptied = spark.read.format("delta").load(str(layout.sink))
    assert_df_equality(_ids(emptied), _expected(spark, _ids_of(kept)), ignore_row_order=True)


def test_a_multi_day_chunk_names_only_the_days_it_would_empty_and_allow_empty_replaces(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    layout, archive = Layout(tmp_path), tmp_path / "raw"
    fifth, sixth, seventh = date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 7)
    _write_archive(spark, archive, _archive_rows({fifth: 2, sixth: 2, seventh: 1}))
    sets = [*overrides(layout, ["unused"]), f"sources.archive.path={archive}"]
    pipeline = demo_pipeline(spark, demo_data, NO_KAFKA, sets)
    pipeline.run_batch()
    kept = _archive_rows({sixth: 2, seventh: 1})
    _write_archive(spark, archive, kept)  # the 5th is gone from the source, the 6th is not
    before_version = _version(spark, layout.sink)
    two_days = timedelta(days=2)

    with pytest.raises(PipelineRunError) as refused:
        pipeline.backfill(fifth, seventh, chunk_size=two_days, progress=False)

    assert refused.value.error_class == "BACKFILL_WOULD_EMPTY"
    assert refused.value.message_parameters["days"] == ["2026-03-05"]
    assert refused.value.message_parameters["rows_held"] == {"2026-03-05": 2}
    assert _version(spark, layout.sink) == before_version

    pipeline.backfill(fifth, seventh, chunk_size=two_days, progress=False, allow_empty=True)

    expected = _expected(spark, _ids_of(kept))
    assert_df_equality(_ids(pipeline.output()), expected, ignore_row_order=True)


def test_a_table_source_is_selected_on_its_own_date_column_and_the_output_on_the_outputs(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    layout, archive = Layout(tmp_path), tmp_path / "raw"
    fifth, sixth, seventh = date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 7)
    # (event id, event date, ingest date): the archive knows only the ingest date, and one
    # event of the 5th arrived on the 6th.
    events = [
        ("a", fifth, fifth),
        ("b", sixth, sixth),
        ("late", fifth, sixth),
        ("c", seventh, seventh),
    ]
    rows = [
        (event(n, day, prefix=f"{name}-"), ingested, name)
        for n, (name, day, ingested) in enumerate(events)
    ]
    archived = spark.createDataFrame(rows, "value STRING, ingest_date DATE, key STRING")
    archived.write.format("delta").save(str(archive))
    sets = [
        *overrides(layout, ["unused"]),
        f"sources.archive.path={archive}",
        "sources.archive.date_column=ingest_date",  # runtime.batch.date_column: event_date
    ]
    pipeline = demo_pipeline(spark, demo_data, NO_KAFKA, sets)

    def ids(*names: str) -> DataFrame:
        chosen = [(f"{name}-{n:06d}", day) for n, (name, day, _) in enumerate(events)]
        return _expected(spark, [row for row in chosen if row[0].split("-")[0] in names])

    batch = pipeline.run_batch(start=sixth, end=seventh)  # what was ingested on the 6th

    assert_df_equality(_ids(pipeline.output()), ids("b", "late"), ignore_row_order=True)
    assert batch.total("dead_lettered") == 0

    # The 5th's events are read from the ingest dates around it (a day of lateness each side),
    # the late one included; the 6th's, read with them, are left to its own backfill.
    report = pipeline.backfill(fifth, sixth, progress=False)

    assert_df_equality(_ids(pipeline.output()), ids("a", "b", "late"), ignore_row_order=True)
    assert report.total("dead_lettered") == 0
    assert report.total("output") == 2
    assert report.total("outside_range") == 1


def test_a_range_of_a_table_without_the_date_column_names_the_setting_to_fix(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    layout, archive = Layout(tmp_path), tmp_path / "raw"
    rows = [(event(0, date(2026, 3, 5)), date(2026, 3, 5))]
    spark.createDataFrame(rows, "value STRING, ingest_date DATE").write.format("delta").save(
        str(archive)
    )
    # No date_column on the source: it would be selected on runtime.batch.date_column.
    sets = [*overrides(layout, ["unused"]), f"sources.archive.path={archive}"]
    pipeline = demo_pipeline(spark, demo_data, NO_KAFKA, sets)

    with pytest.raises(PipelineRunError) as missing:
        pipeline.run_batch(start=date(2026, 3, 5), end=date(2026, 3, 6))

    assert missing.value.error_class == "SOURCE_DATE_COLUMN_MISSING"
    assert missing.value.message_parameters == {"source": "archive", "column": "event_date"}
    assert "sources[].date_column" in missing.value.message
