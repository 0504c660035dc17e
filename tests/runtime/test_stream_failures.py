"""A failed stream says why, with the root cause, and advises a restart only where one helps;
a stream that cannot reach its broker says so within seconds."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from support.runtime import Layout, demo_pipeline, event, overrides, produce

from spark_enrich.config.models import DeltaSource, KafkaSource
from spark_enrich.errors import PipelineRunError
from spark_enrich.plan import compile_source
from spark_enrich.runtime.failure import explain
from spark_enrich.runtime.stream import await_stream, start_stream
from spark_enrich.testing.kafka import LocalKafkaBroker, free_port

pytestmark = pytest.mark.kafka

RESTART = "Restart it"


def test_a_stream_on_a_topic_that_does_not_exist_fails_without_restart_advice(
    spark: SparkSession, demo_data: Path, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    missing = f"never-created-{uuid.uuid4().hex[:8]}"
    sets = overrides(Layout(tmp_path), [missing])
    pipeline = demo_pipeline(spark, demo_data, kafka_broker.bootstrap_servers, sets)

    with pytest.raises(PipelineRunError) as failed:
        pipeline.run_stream(available_now=True)

    error = failed.value
    assert error.error_class == "STREAM_FAILED"
    assert error.message_parameters["failure"] == "unknown_topic"
    assert "UnknownTopicOrPartitionException" in error.message  # the cause
    assert missing in error.message and "does not exist" in error.message  # what to do
    assert RESTART not in error.message and "without loss" not in error.message


def test_a_broker_that_stops_answering_during_a_micro_batch_is_named_as_the_cause(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    broker = LocalKafkaBroker.start(tmp_path / "kafka")
    port = broker.state.port
    try:
        topic = f"engagement-{uuid.uuid4().hex[:8]}"
        broker.create_topic(topic, partitions=2)
        produce(broker.bootstrap_servers, topic, [event(i) for i in range(10)])
        layout = Layout(tmp_path / "out")
        fast = (
            "sources.engagement.options={kafka.security.protocol: PLAINTEXT, "
            "kafka.default.api.timeout.ms: '3000', kafka.request.timeout.ms: '2000'}"
        )
        sets = overrides(layout, [topic], extra=[fast])
        pipeline = demo_pipeline(spark, demo_data, broker.bootstrap_servers, sets)
        pipeline.run_stream(available_now=True)
        # A driver killed after the sink commit, before the checkpoint's: the batch is replayed
        # from the offsets the checkpoint planned, and read from the broker in a Spark job.
        for name in ("0", ".0.crc"):
            (layout.checkpoint / "commits" / name).unlink(missing_ok=True)
        # validate admits only kafka.* client options; Spark's own poll timeout (120 s by
        # default) is shortened on the loaded config to keep the test fast.
        source = pipeline.config.source("engagement")
        assert isinstance(source, KafkaSource)
        source.options["kafkaConsumer.pollTimeoutMs"] = "2000"
        broker.stop()
    except BaseException:
        broker.stop()
        raise

    with socket.socket() as hung:  # a broker that accepts connections but never answers
        hung.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hung.bind(("127.0.0.1", port))
        hung.listen(64)
        # A processing-time trigger replays the planned batch before it asks the broker for
        # anything (available-now would first ask it for its latest offsets, in the driver).
        run = start_stream(pipeline.plan, available_now=False)
        with pytest.raises(PipelineRunError) as failed:
            await_stream(run, handle_signals=False, timeout=240)

    error = failed.value
    assert error.error_class == "STREAM_FAILED"
    assert "Python Proxy" not in error.message
    assert "org.apache.kafka.common.errors.TimeoutException" in error.message
    assert f"partition {topic}-" in error.message  # Kafka's own words, naming the partition
    assert error.message_parameters["failure"] == "transient"
    assert error.message_parameters["batch_id"] == 0
    assert f"127.0.0.1:{port}" in error.message
    assert "resumes from its checkpoint" in error.message  # a restart helps here


def test_a_stream_that_cannot_reach_its_broker_fails_within_seconds(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    pipeline = demo_pipeline(spark, demo_data, nowhere, overrides(Layout(tmp_path), ["events"]))

    began = time.monotonic()
    with pytest.raises(PipelineRunError) as failed:
        pipeline.run_stream(available_now=True)

    assert time.monotonic() - began < 60
    assert failed.value.error_class == "KAFKA_UNREACHABLE"
    assert f"Cannot connect to Kafka at {nowhere}" in failed.value.message
    assert not (tmp_path / "enriched").exists()


def test_records_gone_from_kafka_fail_without_restart_advice_and_name_the_way_on(
    spark: SparkSession, demo_data: Path, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient

    topic = f"engagement-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=1)
    produce(kafka_broker.bootstrap_servers, topic, [event(i) for i in range(10)])
    layout = Layout(tmp_path)
    sets = overrides(layout, [topic])
    pipeline = demo_pipeline(spark, demo_data, kafka_broker.bootstrap_servers, sets)
    pipeline.run_stream(available_now=True)
    # The batch is to be replayed (a driver killed before the checkpoint's commit), but
    # retention has meanwhile deleted the first records of the partition.
    for name in ("0", ".0.crc"):
        (layout.checkpoint / "commits" / name).unlink(missing_ok=True)
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap_servers})
    for future in admin.delete_records([TopicPartition(topic, 0, 5)]).values():
        future.result(timeout=30)

    with pytest.raises(PipelineRunError) as failed:
        pipeline.run_stream(available_now=True)

    error = failed.value
    assert error.error_class == "STREAM_FAILED"
    assert error.message_parameters["failure"] == "data_loss"
    assert "Python Proxy" not in error.message
    assert (
        "fail_on_data_loss: false" in error.message and "runtime.stream.checkpoint" in error.message
    )
    assert RESTART not in error.message and "without loss" not in error.message


def test_explaining_a_failure_never_fails_itself_for_a_delta_source() -> None:
    """A Delta source has no ``pattern``: an error text that names a Kafka exception (an
    executor's message, say) must still be explained, not raise inside the error path."""
    source = compile_source(DeltaSource(kind="delta", name="archive", path="/data/archive"))
    error = RuntimeError("lookup failed: UnknownTopicOrPartitionException: clicks-0")

    failure, batch = explain(error, None, None, source=source, checkpoint="/tmp/checkpoint")

    assert batch is None
    assert "UnknownTopicOrPartitionException" in failure.cause
