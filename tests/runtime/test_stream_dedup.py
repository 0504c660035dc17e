"""``sink.dedup``: a stream drops redelivered events by their id in Spark's streaming state and
appends each micro-batch (no MERGE per micro-batch); a redelivery in a later micro-batch
appears once; events without an id are never taken for redeliveries."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from support.runtime import Layout, demo_pipeline, event, overrides, produce

from spark_enrich.sink import Redeliveries
from spark_enrich.testing.kafka import LocalKafkaBroker

pytestmark = pytest.mark.kafka

DEDUP = "sink.dedup={window: 1h}"


def operations(spark: SparkSession, table: Path) -> set[str]:
    history = spark.sql(f"DESCRIBE HISTORY delta.`{table}`").select("operation").collect()
    return {r["operation"] for r in history}


def test_a_redelivery_in_a_later_micro_batch_is_written_once_and_nothing_is_merged(
    spark: SparkSession,
    demo_data: Path,
    kafka_broker: LocalKafkaBroker,
    topic_pair: tuple[str, str],
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path / "out")
    bootstrap = kafka_broker.bootstrap_servers
    sets = overrides(layout, topic_pair, mode="merge", extra=[DEDUP])
    pipeline = demo_pipeline(spark, demo_data, bootstrap, sets)

    first = [event(i) for i in range(10)]
    produce(bootstrap, topic_pair[0], [*first, first[3]])  # one redelivery in the batch
    one = pipeline.run_stream(available_now=True)
    produce(bootstrap, topic_pair[0], [first[3], first[5], event(10)])  # two more, later
    two = pipeline.run_stream(available_now=True)

    rows = pipeline.output().select("event_id").collect()
    assert sorted(r["event_id"] for r in rows) == [f"e{i:06d}" for i in range(11)]
    assert one.total("source_rows") == 10 and two.total("source_rows") == 1
    assert "MERGE" not in operations(spark, layout.sink)  # appended, micro-batch by micro-batch


def test_a_merge_batch_run_with_dedup_writes_what_the_stream_wrote(
    spark: SparkSession,
    demo_data: Path,
    kafka_broker: LocalKafkaBroker,
    topic_pair: tuple[str, str],
    tmp_path: Path,
) -> None:
    streamed, batched = Layout(tmp_path / "stream"), Layout(tmp_path / "batch")
    bootstrap = kafka_broker.bootstrap_servers
    payloads = [event(i) for i in range(12)]
    produce(bootstrap, topic_pair[0], [*payloads, payloads[0], payloads[7]])
    stream = demo_pipeline(
        spark, demo_data, bootstrap, overrides(streamed, topic_pair, extra=[DEDUP])
    )
    batch = demo_pipeline(
        spark,
        demo_data,
        bootstrap,
        overrides(batched, topic_pair, extra=[DEDUP]),
    )
    stream.run_stream(available_now=True)
    report = batch.run_batch(source="engagement")

    def ids(frame: DataFrame) -> list[str]:
        return sorted(r["event_id"] for r in frame.select("event_id").collect())

    assert ids(stream.output()) == ids(batch.output()) == [f"e{i:06d}" for i in range(12)]
    assert report.total("source_rows") == 12  # the batch dropped the redeliveries as well


def test_in_batch_keeps_one_delivery_per_id_and_every_row_without_an_id(
    spark: SparkSession,
) -> None:
    payloads = [
        json.dumps({"event_id": "a", "n": 1}),
        json.dumps({"event_id": "a", "n": 1}),
        json.dumps({"event_id": "b"}),
        json.dumps({"n": 2}),
        json.dumps({"n": 2}),
        "not json",
        "not json",
    ]
    envelope = spark.createDataFrame([(p,) for p in payloads], "_se_payload STRING")
    kept = Redeliveries("event_id", timedelta(hours=1)).in_batch(envelope)
    assert sorted(r["_se_payload"] for r in kept.collect()) == sorted(
        [payloads[0], payloads[2], payloads[3], payloads[4], "not json", "not json"]
    )
    assert kept.columns == ["_se_payload"]
