"""Streaming benchmarks (issue #5), against a real local Kafka broker:

- throughput: events/s of the demo pipeline draining N pre-produced events (available-now),
  as a ratio to a plain Kafka -> Delta passthrough stream over the same events (goal >= 0.8);
- latency: produce -> committed-in-Delta latency, p50 and p99, while producing at a fixed rate
  (goal at 1,000 events/s: p50 <= 1 s, p99 <= 2 s).
"""

from __future__ import annotations

import bisect
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from benchmarks.common import demo_pipeline, fresh, print_table, session, timed
from benchmarks.handwritten import create_table, enriched

DEDUP = "sink.dedup={window: 1h}"

if TYPE_CHECKING:
    from confluent_kafka import Producer

    from spark_enrich.runtime.stream import StreamRun


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


def throughput(events: int, workdir: Path, limit: int, sets: Sequence[str] = ()) -> None:
    """Drain ``events`` pre-produced events with the engine (the demo pipeline with ``sets``
    applied) and with a passthrough."""
    from spark_enrich.demo.generate import produce_to_kafka, write_demo_data
    from spark_enrich.testing.kafka import LocalKafkaBroker

    spark = session()
    data = workdir / "data"
    write_demo_data(spark, data, events)
    with LocalKafkaBroker.start(workdir / "kafka", heap="1g") as broker:
        produced = produce_to_kafka(
            spark.read.format("delta").load(str(data / "raw")), broker.bootstrap_servers
        )
        overrides = [f"sources[0].max_offsets_per_trigger={limit}", *sets]

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
        f"stream throughput, {produced} events, maxOffsetsPerTrigger {limit}"
        + (f", engine with {'; '.join(sets)}" if sets else ""),
        [
            ("Kafka -> Delta passthrough", rate_pass, "events/s"),
            ("hand-written foreachBatch job", rate_hand, "events/s"),
            ("spark-enrich demo pipeline", rate_engine, "events/s"),
            ("ratio engine / passthrough", rate_engine / rate_pass, "goal >= 0.5 (#19)"),
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


def _latencies(
    spark: SparkSession, path: str, kafka_time: str, batch_time: str
) -> list[tuple[float, float]]:
    """``(Kafka timestamp, seconds until the Delta commit holding the row)`` per row.

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
            sent = row["kafka"].timestamp()
            samples.append((sent, commit_times[i] - sent))
    return sorted(samples)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@dataclass
class _Window:
    """The measured part of a run: events sent in ``[start, end)`` (after the warm-up)."""

    start: float
    end: float

    def summary(self, samples: list[tuple[float, float]]) -> tuple[float, float, float, float]:
        """p50 and p99 over the window, and the p50 of its first and last fifth (a latency
        that grows from one to the other means the stream falls behind the producer)."""
        inside = [(t, lat) for t, lat in samples if self.start <= t < self.end]
        if not inside:
            raise RuntimeError("no event of the measured window reached the table")
        fifth = (self.end - self.start) / 5
        first = [lat for t, lat in inside if t < self.start + fifth] or [math.nan]
        last = [lat for t, lat in inside if t >= self.end - fifth] or [math.nan]
        p50, p99 = _percentiles([lat for _, lat in inside])
        return p50, p99, statistics.median(first), statistics.median(last)


def _measure(
    producer: Producer,
    rows: list[tuple[str, bytes, bytes]],
    rate: int,
    warm_up: int,
    drain: int,
    stop: Callable[[], None],
) -> _Window:
    """Produce ``rows`` at ``rate`` while a stream runs, then ``stop`` it; the window is
    everything sent after the first ``warm_up`` seconds (first micro-batches, table creation
    and code generation are not steady state)."""
    begin = time.time()
    _produce(producer, rows, rate)
    time.sleep(drain)
    stop()
    return _Window(begin + warm_up, begin + len(rows) / rate)


def latency(
    rate: int, seconds: int, workdir: Path, trigger_seconds: int, warm_up: int, max_offsets: int
) -> None:
    """Produce at ``rate`` events/s for ``warm_up + seconds`` while a stream runs and report
    the latencies of the last ``seconds``: the demo pipeline (merge sink, as configured, and
    with an append sink) and, as the floor, a Kafka -> Delta passthrough stream with the same
    trigger."""
    from spark_enrich.demo.generate import generate_raw_events, write_demo_data
    from spark_enrich.runtime.stream import await_stream, start_stream
    from spark_enrich.testing.kafka import LocalKafkaBroker

    spark = session()
    data = workdir / "data"
    write_demo_data(spark, data, 1000)
    rows = [
        (r["topic"], r["key"], r["value"])
        # Live events: today's (one sink partition per micro-batch, as a live stream writes).
        for r in generate_raw_events(
            spark,
            rate * (warm_up + seconds),
            seed=11,
            start=datetime.now(timezone.utc).date(),
            days=1,
            bad_share=0,
            duplicate_share=0,
        ).collect()
    ]
    drain = trigger_seconds * 3 + 10
    results: list[tuple[str, tuple[float, float, float, float], int]] = []
    with LocalKafkaBroker.start(workdir / "kafka", heap="1g") as broker:
        bootstrap = broker.bootstrap_servers
        for topic in ("engagement", "search"):
            broker.create_topic(topic, 2)
        broker.create_topic("warm-up", 1)
        producer = _producer(bootstrap)

        out, cp = workdir / "pass", workdir / "pass-cp"
        fresh(out, cp)
        reference = (
            _kafka(spark, bootstrap, "engagement,search", max_offsets, starting="latest")
            .withColumn("batch_time", F.current_timestamp())
            .writeStream.format("delta")
            .option("checkpointLocation", str(cp))
            .trigger(processingTime=f"{trigger_seconds} seconds")
            .start(str(out))
        )
        window = _measure(producer, rows, rate, warm_up, drain, reference.stop)
        samples = _latencies(spark, str(out), "timestamp", "batch_time")
        results.append(("passthrough (the floor)", window.summary(samples), 0))

        # The demo as configured (a MERGE per micro-batch), and with `sink.dedup` (redeliveries
        # dropped by the stream's state, each micro-batch appended): #19's fast path.
        variants: list[tuple[str, list[str]]] = [
            ("engine, merge sink", []),
            ("engine, merge + dedup", [DEDUP]),
        ]
        for label, extra in variants:
            fresh(data / "enriched", data / "dead_letters", data / "_checkpoints")
            pipeline = demo_pipeline(
                spark,
                data,
                overrides=[
                    "runtime.stream.trigger.kind=processing_time",
                    f"runtime.stream.trigger.interval={trigger_seconds}s",
                    "sources[0].starting_offsets=latest",
                    f"sources[0].max_offsets_per_trigger={max_offsets}",
                    *extra,
                ],
                KAFKA_BOOTSTRAP=bootstrap,
            )
            run = start_stream(pipeline.plan)

            def stop(run: StreamRun = run) -> None:
                run.stop_requested.set()
                await_stream(run, handle_signals=False)

            window = _measure(producer, rows, rate, warm_up, drain, stop)
            samples = _latencies(
                spark, str(pipeline.plan.sink.table.path), "_source.timestamp", "_ingested_at"
            )
            results.append((label, window.summary(samples), len(run.reports)))
    table: list[tuple[str, float, str]] = []
    floor_p50, floor_p99 = results[0][1][:2]
    for label, (p50, p99, first, last), batches in results:
        table += [
            (f"{label} p50", p50, "s"),
            (f"{label} p99", p99, "s"),
            (f"{label} p50 last/first fifth", last / first, f"{first:.1f} s -> {last:.1f} s"),
        ]
        if batches:
            table += [
                (f"{label} p50 / passthrough p50", p50 / floor_p50, "x (goal <= 1.5)"),
                (f"{label} p99 / passthrough p99", p99 / floor_p99, "x (goal <= 2)"),
                (f"{label} micro-batches", float(batches), ""),
            ]
    print_table(
        f"stream latency, {rate} events/s, {warm_up}s warm-up then {seconds}s measured, "
        f"trigger {trigger_seconds}s, maxOffsetsPerTrigger {max_offsets}",
        table,
    )
