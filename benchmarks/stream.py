"""Streaming benchmarks (issue #5), against a real local Kafka broker:

- throughput: events/s of the demo pipeline draining N pre-produced events (available-now),
  as a ratio to a plain Kafka -> Delta passthrough stream over the same events (goal >= 0.8);
- latency: produce -> committed-in-Delta latency, p50 and p99, while producing at a fixed rate
  (goal at 1,000 events/s: p50 <= 1 s, p99 <= 2 s).
"""

from __future__ import annotations

import bisect
import json
import statistics
import threading
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from benchmarks.common import demo_pipeline, fresh, print_table, session, timed
from benchmarks.handwritten import create_table, enriched


def _kafka(spark: SparkSession, bootstrap: str, topics: str, limit: int) -> DataFrame:
    """The reference jobs' Kafka source: the topics from the start, ``limit`` per trigger."""
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topics)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", str(limit))
        .load()
    )


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


def latency(rate: int, seconds: int, workdir: Path, trigger_seconds: int) -> None:
    """Produce at ``rate`` events/s for ``seconds`` while the stream runs; report latencies."""
    from confluent_kafka import Producer

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
    with LocalKafkaBroker.start(workdir / "kafka", heap="1g") as broker:
        for topic in ("engagement", "search"):
            broker.create_topic(topic, 2)
        fresh(data / "enriched", data / "dead_letters", data / "_checkpoints")
        pipeline = demo_pipeline(
            spark,
            data,
            overrides=[
                "runtime.stream.trigger.kind=processing_time",
                f"runtime.stream.trigger.interval={trigger_seconds}s",
                "sources[0].starting_offsets=latest",
            ],
            KAFKA_BOOTSTRAP=broker.bootstrap_servers,
        )
        run = start_stream(pipeline.plan)
        time.sleep(15)  # let the first (empty) micro-batches and table creation pass

        def produce() -> None:
            producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 5})
            start = time.monotonic()
            for i, (topic, key, value) in enumerate(rows):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                producer.produce(topic, key=key, value=value)
                producer.poll(0)
            producer.flush(30)

        thread = threading.Thread(target=produce)
        thread.start()
        thread.join()
        time.sleep(trigger_seconds * 3 + 10)  # drain
        run.stop_requested.set()
        await_stream(run, handle_signals=False)
        sink = pipeline.plan.sink
        from delta.tables import DeltaTable

        commits = sorted(
            (r["timestamp"].timestamp(), json.loads(r["userMetadata"] or "{}").get("batch_id"))
            for r in DeltaTable.forPath(spark, str(sink.path)).history().collect()
            if r["operation"] == "MERGE"
        )
        commit_times = [c[0] for c in commits]
        samples = []
        for row in (
            sink.read(spark)
            .select(F.col("_source.timestamp").alias("kafka"), F.col("_ingested_at").alias("at"))
            .collect()
        ):
            i = bisect.bisect_left(commit_times, row["at"].timestamp())
            if i < len(commit_times):
                samples.append(commit_times[i] - row["kafka"].timestamp())
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print_table(
        f"stream latency, {rate} events/s for {seconds}s, trigger {trigger_seconds}s, "
        f"{len(samples)} rows measured",
        [
            ("produce -> committed p50", p50, "s (goal <= 1)"),
            ("produce -> committed p99", p99, "s (goal <= 2)"),
            ("reports (micro-batches)", float(len(run.reports)), ""),
        ],
    )
