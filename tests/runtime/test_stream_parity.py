"""Parity by construction: the same generated events through Kafka -> stream and through the
Delta raw archive -> batch give the same sink rows and the same dead letters; and
``max_offsets_per_trigger`` splits an available-now drain into several micro-batches."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.runtime import Layout, demo_pipeline, overrides, visible

from spark_enrich.accounting import RunReport
from spark_enrich.demo.generate import produce_to_kafka
from spark_enrich.testing.kafka import LocalKafkaBroker

pytestmark = pytest.mark.kafka

EVENTS = 2000
MAX_OFFSETS = 700
# Dead-letter columns that name where and when a row was read, not what it was. `kafka_key` is
# compared: the archive's `key_column` gives batch dead letters the key the topic gave.
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


@dataclass
class Runs:
    stream: RunReport
    batch: RunReport
    stream_sink: DataFrame
    batch_sink: DataFrame
    stream_dead: DataFrame
    batch_dead: DataFrame


@pytest.fixture(scope="module")
def runs(
    spark: SparkSession,
    demo_data: Path,
    kafka_broker: LocalKafkaBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Runs:
    suffix = uuid.uuid4().hex[:8]
    topics = (f"engagement-{suffix}", f"search-{suffix}")
    for name in topics:
        kafka_broker.create_topic(name, partitions=2)
    raw = spark.read.format("delta").load(str(demo_data / "raw"))
    renamed = raw.withColumn(
        "topic", F.when(F.col("topic") == "search", topics[1]).otherwise(topics[0])
    )
    assert produce_to_kafka(renamed, kafka_broker.bootstrap_servers) == EVENTS

    a = Layout(tmp_path_factory.mktemp("stream"))
    b = Layout(tmp_path_factory.mktemp("batch"))
    bootstrap = kafka_broker.bootstrap_servers
    streamed = demo_pipeline(
        spark, demo_data, bootstrap, overrides(a, topics, max_offsets=MAX_OFFSETS)
    )
    batched = demo_pipeline(spark, demo_data, bootstrap, overrides(b, topics))
    stream_report = streamed.run_stream(available_now=True)
    batch_report = batched.run_batch()
    return Runs(
        stream_report,
        batch_report,
        streamed.output(),
        batched.output(),
        streamed.dead_letters(),
        batched.dead_letters(),
    )


def test_stream_and_batch_write_the_same_sink_rows(runs: Runs) -> None:
    assert runs.batch_sink.count() > EVENTS // 2  # the comparison is not of two empty tables
    assert_df_equality(
        visible(runs.stream_sink),
        visible(runs.batch_sink),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_stream_and_batch_write_the_same_dead_letters(runs: Runs) -> None:
    def content(df: DataFrame) -> DataFrame:
        return df.drop(*DEAD_LETTER_COORDINATES)

    assert runs.batch_dead.count() > 0
    assert_df_equality(
        content(runs.stream_dead),
        content(runs.batch_dead),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_stream_and_batch_account_for_every_event_alike(runs: Runs) -> None:
    assert runs.stream.total("source_rows") == runs.batch.total("source_rows") == EVENTS
    for name, counts in runs.batch.by_executor().items():
        streamed = runs.stream.by_executor()[name]
        assert (streamed.input, streamed.output, streamed.filtered, streamed.dead_lettered) == (
            counts.input,
            counts.output,
            counts.filtered,
            counts.dead_lettered,
        )


def test_max_offsets_per_trigger_splits_the_drain_into_micro_batches(runs: Runs) -> None:
    sizes = [b.source_rows for b in runs.stream.batches]
    assert len(sizes) >= -(-EVENTS // MAX_OFFSETS), sizes
    assert max(sizes) <= MAX_OFFSETS, sizes
    assert sum(sizes) == EVENTS
