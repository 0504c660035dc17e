"""Parity on the deduplicating path: the demo's 2,000 generated events (1 % exact redeliveries,
some up to 1,000 events back, so in another micro-batch) through Kafka -> a stream with
``sink.dedup`` (micro-batches of 700, appended) and through the raw archive -> a batch run with
``sink.dedup`` (merged) give the same sink rows and the same dead letters."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.runtime import Layout, demo_pipeline, overrides, visible

from spark_enrich.demo.generate import produce_to_kafka
from spark_enrich.testing.kafka import LocalKafkaBroker

pytestmark = pytest.mark.kafka

DEDUP = "sink.dedup={window: 1h}"
EVENTS = 2000
MAX_OFFSETS = 700
# Where and when a dead letter was read, not what it was (as in test_stream_parity).
DEAD_LETTER_COORDINATES = (
    "dead_letter_id",
    "source",
    "kafka_headers",
    "dead_lettered_at",
    "run_id",
    "replayed_at",
    "replay_run_id",
    "txn_app_id",
    "txn_version",
)


def test_a_deduplicating_stream_and_batch_write_the_same_rows_and_dead_letters(
    spark: SparkSession,
    demo_data: Path,
    kafka_broker: LocalKafkaBroker,
    tmp_path: Path,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    topics = (f"engagement-{suffix}", f"search-{suffix}")
    for name in topics:
        kafka_broker.create_topic(name, partitions=2)
    raw = spark.read.format("delta").load(str(demo_data / "raw"))
    renamed = raw.withColumn(
        "topic", F.when(F.col("topic") == "search", topics[1]).otherwise(topics[0])
    )
    assert produce_to_kafka(renamed, kafka_broker.bootstrap_servers) == EVENTS
    redelivered = EVENTS - raw.select("topic", "key", "value").distinct().count()
    assert redelivered > 0  # the generator's exact copies

    a, b = Layout(tmp_path / "stream"), Layout(tmp_path / "batch")
    bootstrap = kafka_broker.bootstrap_servers
    streamed = demo_pipeline(
        spark, demo_data, bootstrap, overrides(a, topics, max_offsets=MAX_OFFSETS, extra=[DEDUP])
    )
    batched = demo_pipeline(spark, demo_data, bootstrap, overrides(b, topics, extra=[DEDUP]))
    stream_report = streamed.run_stream(available_now=True)
    batch_report = batched.run_batch()

    assert len(stream_report.batches) >= 3
    # Redeliveries never reach decoding; events without an id are never taken for them.
    assert stream_report.total("source_rows") == batch_report.total("source_rows")
    assert stream_report.total("source_rows") < EVENTS
    assert batched.output().count() > EVENTS // 2
    assert_df_equality(
        visible(streamed.output()),
        visible(batched.output()),
        ignore_row_order=True,
        ignore_nullable=True,
    )

    def content(df: DataFrame) -> DataFrame:
        return df.drop(*DEAD_LETTER_COORDINATES)

    assert batched.dead_letters().count() > 0
    assert_df_equality(
        content(streamed.dead_letters()),
        content(batched.dead_letters()),
        ignore_row_order=True,
        ignore_nullable=True,
    )
