"""Producing the demo's raw events to Kafka, as clients would: topic, key and JSON value per
row, every delivery checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from spark_enrich.errors import SparkEnrichError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class DemoDataError(SparkEnrichError):
    """Demo data could not be produced (for example Kafka did not accept the events)."""


def produce_to_kafka(
    df: DataFrame,
    bootstrap_servers: str,
    *,
    batch: int = 10_000,
    config: Mapping[str, Any] | None = None,
    flush_timeout: float = 60.0,
) -> int:
    """Produce the rows of a raw-events frame (``topic``, ``key``, ``value``) to Kafka.

    Rows stream to the driver partition by partition (``toLocalIterator``); the producer is
    flushed every ``batch`` rows and at the end, and every delivery is checked.

    Args:
        df: a frame with ``topic``, ``key`` (may be null) and ``value`` string columns.
        bootstrap_servers: ``host:port[,host:port]`` of the brokers.
        batch: rows between flushes.
        config: extra confluent-kafka producer settings (they override the defaults).
        flush_timeout: seconds to wait for outstanding deliveries at each flush.

    Returns:
        The number of rows produced (all of them acknowledged by the broker).

    Raises:
        DemoDataError: ``KAFKA_DELIVERY_FAILED`` when the broker rejected or never
            acknowledged some rows.
    """
    from confluent_kafka import KafkaError, Message, Producer

    settings: dict[str, Any] = {
        "bootstrap.servers": bootstrap_servers,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 20,
        "compression.type": "lz4",
        # Errors only: librdkafka's warnings here are retries that resolve themselves (a new
        # broker still loading its coordinator); failed deliveries are reported below.
        "log_level": 3,
    }
    settings.update(config or {})
    producer = Producer(settings)
    failures: list[str] = []

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            failures.append(f"{message.topic()}: {error.str()}")

    def fail_if_undelivered(remaining: int, produced: int) -> None:
        if failures or remaining:
            raise DemoDataError(
                "KAFKA_DELIVERY_FAILED",
                f"Kafka at {bootstrap_servers} did not acknowledge {len(failures) + remaining} "
                f"of {produced} events ({remaining} still waiting after {flush_timeout}s). "
                f"First errors: {failures[:3]}. Is the broker running "
                "(`spark-enrich kafka status`) and does the topic accept writes?",
                {
                    "bootstrap_servers": bootstrap_servers,
                    "failed": len(failures),
                    "undelivered": remaining,
                    "errors": failures[:3],
                },
            )

    count = 0
    for row in df.select("topic", "key", "value").toLocalIterator():
        key = None if row["key"] is None else row["key"].encode()
        value = None if row["value"] is None else row["value"].encode()
        while True:
            try:
                producer.produce(row["topic"], value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)  # the local queue is full: let deliveries drain
        count += 1
        producer.poll(0)
        if count % batch == 0:
            fail_if_undelivered(producer.flush(flush_timeout), count)
    fail_if_undelivered(producer.flush(flush_timeout), count)
    return count
