"""``sink.dedup``: a stream drops redelivered events by their id in Spark's streaming state and
appends each micro-batch (no MERGE per micro-batch); a redelivery in a later micro-batch
appears once; events without an id are never taken for redeliveries."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from support.runtime import (
    Layout,
    StreamProcess,
    demo_env,
    demo_pipeline,
    event,
    overrides,
    produce,
    reaped,
    sink_batch_ids,
    wait_for,
)

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


@pytest.mark.timeout(1800)  # two JVM starts
def test_a_stream_killed_after_a_sink_commit_resumes_with_each_event_once(
    spark: SparkSession, demo_data: Path, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    topic = f"dedup-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=2)
    layout = Layout(tmp_path / "out")
    bootstrap = kafka_broker.bootstrap_servers
    trigger = "{kind: processing_time, interval: 1s}"
    sets = overrides(layout, [topic], trigger=trigger, max_offsets=20, extra=[DEDUP])
    args = [arg for value in sets for arg in ("--set", value)]
    env = demo_env(demo_data, bootstrap)
    payloads = [event(i, prefix="k") for i in range(60)]
    produce(bootstrap, topic, [*payloads, *payloads[:5]])

    with reaped() as children:
        first = StreamProcess(args, env, tmp_path / "first.log")
        children.append(first)
        # Killed right after a micro-batch's sink commit: its checkpoint commit may not be
        # done, and the restart then replays it (the txn skips the append, the state is the
        # one before that micro-batch).
        wait_for(
            lambda: bool(sink_batch_ids(layout.sink)) or first.process.poll() is not None,
            timeout=600,
            what="the first sink commit",
            interval=0.05,
        )
        assert first.process.poll() is None, first.output()
        first.kill()
        produce(bootstrap, topic, payloads[:10])  # redelivered after the restart
        drain = "sources.engagement.max_offsets_per_trigger=100000"
        resumed = StreamProcess([*args, "--set", drain, "--available-now"], env, tmp_path / "r.log")
        children.append(resumed)
        assert resumed.wait(600) == 0, resumed.output()

    rows = spark.read.format("delta").load(str(layout.sink)).select("event_id").collect()
    assert sorted(r["event_id"] for r in rows) == [f"k{i:06d}" for i in range(60)]
