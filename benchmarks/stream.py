"""Streaming benchmarks (issue #5), against a real local Kafka broker:

- throughput: events/s of the demo pipeline draining N pre-produced events (available-now),
  as a ratio to a plain Kafka -> Delta passthrough stream over the same events (goal >= 0.8);
- latency: produce -> committed-in-Delta latency, p50 and p99, while producing at a fixed rate
  (goal at 1,000 events/s: p50 <= 1 s, p99 <= 2 s).
"""

from __future__ import annotations

import bisect
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from benchmarks.common import demo_pipeline, fresh, print_table, session, timed
from benchmarks.handwritten import create_table, enriched

if TYPE_CHECKING:
    from confluent_kafka import Producer


def _kafka(
    spark: SparkSession,
    bootstrap: str,
    topics: str,
    limit: int | None = None,
    starting: str = "earliest",
) -> DataFrame:
    """The reference jobs' Kafka source: the topics from ``starting``, ``limit`` per trigger."""
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topics)
        .option("startingOffsets", starting)
    )
    if limit is not None:
        reader = reader.option("maxOffsetsPerTrigger", str(limit))
    return reader.load()


def _passthrough(
    spark: SparkSession, bootstrap: str, topics: str, out: Path, cp: Path, limit: int
) -> None:
    fresh(out, cp)
    query = (
        _kafka(spark, bootstrap, topics, limit)
        .writeStream.format("delta")
        .option("checkpointLocation", str(cp))
        .trigger(availableNow=True)
        .start(str(out))
    )
    query.awaitTermination()


def _handwritten(
    spark: SparkSession, data: Path, bootstrap: str, out: Path, cp: Path, limit: int
) -> None:
    """The hand-written job (:mod:`benchmarks.handwritten`) as a stream: ``foreachBatch``
    with an idempotent append (``txnAppId``/``txnVersion``), as a careful engineer would."""
    fresh(out, cp)
    empty = spark.createDataFrame([], "value BINARY")
    create_table(spark, data, out, enriched(spark, data, empty).schema)

    def write(batch: DataFrame, batch_id: int) -> None:
        (
            enriched(spark, data, batch.select("value"))
            .write.format("delta")
            .mode("append")
            .option("txnAppId", "handwritten-benchmark")
            .option("txnVersion", batch_id)
            .save(str(out))
        )

    query = (
        _kafka(spark, bootstrap, "engagement,search", limit)
        .writeStream.foreachBatch(write)
        .option("checkpointLocation", str(cp))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()


def throughput(events: int, workdir: Path, limit: int) -> None:
    """Drain ``events`` pre-produced events with the engine and with a passthrough."""
    from spark_enrich.demo.generate import produce_to_kafka, write_demo_data
    from spark_enrich.testing.kafka import LocalKafkaBroker

    spark = session()
    data = workdir / "data"
    write_demo_data(spark, data, events)
    with LocalKafkaBroker.start(workdir / "kafka", heap="1g") as broker:
        produced = produce_to_kafka(
            spark.read.format("delta").load(str(data / "raw")), broker.bootstrap_servers
        )
        overrides = [f"sources[0].max_offsets_per_trigger={limit}"]

        def engine() -> None:
            fresh(data / "enriched", data / "dead_letters", data / "_checkpoints")
            demo_pipeline(
                spark, data, overrides=overrides, KAFKA_BOOTSTRAP=broker.bootstrap_servers
            ).run_stream(available_now=True)

        def passthrough() -> None:
            _passthrough(
                spark, broker.bootstrap_servers, "engagement,search", workdir / "pass",
                workdir / "pass-cp", limit,
            )  # fmt: skip

        def handwritten() -> None:
            _handwritten(
                spark, data, broker.bootstrap_servers, workdir / "hand", workdir / "hand-cp",
                limit,
            )  # fmt: skip

        # Warm the JVM (class loading, code generation) on every path before measuring.
        passthrough()
        handwritten()
        engine()
        t_pass = timed(passthrough)
        t_hand = timed(handwritten)
        t_engine = timed(engine)
    rate_pass, rate_hand, rate_engine = produced / t_pass, produced / t_hand, produced / t_engine
    print_table(
        f"stream throughput, {produced} events, maxOffsetsPerTrigger {limit}",
        [
            ("Kafka -> Delta passthrough", rate_pass, "events/s"),
            ("hand-written foreachBatch job", rate_hand, "events/s"),
            ("spark-enrich demo pipeline", rate_engine, "events/s"),
            ("ratio engine / passthrough", rate_engine / rate_pass, "goal >= 0.8"),
            ("ratio engine / hand-written", rate_engine / rate_hand, "engine overhead"),
        ],
    )


def _producer(bootstrap: str) -> Producer:
    """A producer that has already sent a record: librdkafka's first send waits for the
    broker's idempotence set-up (seconds after a broker starts), which must not count as
    latency."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    producer.produce("warm-up", value=b"{}")
    producer.flush(60)
    return producer


def _produce(producer: Producer, rows: list[tuple[str, bytes, bytes]], rate: int) -> None:
    """Send ``rows`` at a fixed ``rate`` per second (Kafka stamps each with its send time)."""
    start = time.monotonic()
    for i, (topic, key, value) in enumerate(rows):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
    producer.flush(30)


def _latencies(spark: SparkSession, path: str, kafka_time: str, batch_time: str) -> list[float]:
    """Kafka timestamp -> commit time of the Delta version holding the row, per row.

    ``batch_time`` is the micro-batch's timestamp on the row (``current_timestamp()`` is fixed
    per micro-batch): the row became visible with the first commit at or after it.
    """
    from delta.tables import DeltaTable

    commit_times = sorted(
        r["timestamp"].timestamp()
        for r in DeltaTable.forPath(spark, path).history().collect()
        if r["operation"] in ("MERGE", "STREAMING UPDATE", "WRITE")
    )
    samples = []
    for row in (
        spark.read.format("delta")
        .load(path)
        .select(F.col(kafka_time).alias("kafka"), F.col(batch_time).alias("at"))
        .collect()
    ):
        i = bisect.bisect_left(commit_times, row["at"].timestamp())
        if i < len(commit_times):
            samples.append(commit_times[i] - row["kafka"].timestamp())
    return sorted(samples)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def latency(rate: int, seconds: int, workdir: Path, trigger_seconds: int) -> None:
    """Produce at ``rate`` events/s for ``seconds`` while a stream runs; report latencies of the
    demo pipeline and, as the floor, of a Kafka -> Delta passthrough stream with the same
    trigger."""
    from spark_enrich.demo.generate import generate_raw_events, write_demo_data
    from spark_enrich.runtime.stream import await_stream, start_stream
    from spark_enrich.testing.kafka import LocalKafkaBroker

    spark = session()
    data = workdir / "data"
    n = rate * seconds
    write_demo_data(spark, data, 1000)
    rows = [
        (r["topic"], r["key"], r["value"])
        for r in generate_raw_events(spark, n, seed=11, bad_share=0, duplicate_share=0).collect()
    ]
    warm_up, drain = 15, trigger_seconds * 3 + 10
    with LocalKafkaBroker.start(workdir / "kafka", heap="1g") as broker:
        bootstrap = broker.bootstrap_servers
        for topic in ("engagement", "search"):
            broker.create_topic(topic, 2)
        broker.create_topic("warm-up", 1)
        producer = _producer(bootstrap)

        out, cp = workdir / "pass", workdir / "pass-cp"
        fresh(out, cp)
        reference = (
            _kafka(spark, bootstrap, "engagement,search", starting="latest")
            .withColumn("batch_time", F.current_timestamp())
            .writeStream.format("delta")
            .option("checkpointLocation", str(cp))
            .trigger(processingTime=f"{trigger_seconds} seconds")
            .start(str(out))
        )
        time.sleep(warm_up)
        _produce(producer, rows, rate)
        time.sleep(drain)
        reference.stop()
        floor = _latencies(spark, str(out), "timestamp", "batch_time")

        fresh(data / "enriched", data / "dead_letters", data / "_checkpoints")
        pipeline = demo_pipeline(
            spark,
            data,
            overrides=[
                "runtime.stream.trigger.kind=processing_time",
                f"runtime.stream.trigger.interval={trigger_seconds}s",
                "sources[0].starting_offsets=latest",
            ],
            KAFKA_BOOTSTRAP=bootstrap,
        )
        run = start_stream(pipeline.plan)
        time.sleep(warm_up)  # the first (empty) micro-batches and table creation
        _produce(producer, rows, rate)
        time.sleep(drain)
        run.stop_requested.set()
        await_stream(run, handle_signals=False)
        sink = str(pipeline.plan.sink.path)
        measured = _latencies(spark, sink, "_source.timestamp", "_ingested_at")
    p50, p99 = _percentiles(measured)
    floor50, floor99 = _percentiles(floor)
    print_table(
        f"stream latency, {rate} events/s for {seconds}s, trigger {trigger_seconds}s, "
        f"{len(measured)} engine rows and {len(floor)} passthrough rows measured",
        [
            ("passthrough produce -> committed p50", floor50, "s (the floor)"),
            ("passthrough produce -> committed p99", floor99, "s"),
            ("engine produce -> committed p50", p50, "s (goal <= 1)"),
            ("engine produce -> committed p99", p99, "s (goal <= 2)"),
            ("engine micro-batches", float(len(run.reports)), ""),
        ],
    )
