"""A Kafka source: topics read with Spark's Kafka source, as a batch (by offsets looked up by
record time, or whole) or as a stream."""

from __future__ import annotations

import logging
import socket
import time
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, ClassVar

from pyspark.sql import functions as F

from spark_enrich.errors import PipelineRunError
from spark_enrich.sources.base import Source
from spark_enrich.sources.envelope import kafka_envelope

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from spark_enrich.config import models

log = logging.getLogger(__name__)


def _epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)


def _servers(bootstrap: str) -> list[tuple[str, int]]:
    """``(host, port)`` of each bootstrap server; empty when one cannot be parsed."""
    found = []
    for entry in bootstrap.split(","):
        entry = entry.strip().split("://", 1)[-1]
        host, sep, port = entry.rpartition(":")
        if not sep or not port.isdigit():
            return []
        found.append((host.strip("[]"), int(port)))
    return found


class KafkaSource(Source):
    """Kafka topics (``topics``) or the topics matching ``pattern``."""

    streamable: ClassVar[bool] = True
    # Record times are not event dates: a backfill reads its whole range at once.
    chunked: ClassVar[bool] = False

    def __init__(self, config: models.KafkaSource) -> None:
        super().__init__(config.name)
        self.config = config

    @property
    def kind(self) -> str:
        return "kafka"

    @property
    def bootstrap_servers(self) -> str:
        return self.config.bootstrap_servers

    @property
    def topics(self) -> list[str] | None:
        return self.config.topics

    @property
    def pattern(self) -> str | None:
        return self.config.pattern

    def options(self) -> dict[str, str]:
        """Reader options shared by batch and stream reads."""
        source = self.config
        options = {
            "kafka.bootstrap.servers": source.bootstrap_servers,
            "includeHeaders": "true",
            "failOnDataLoss": str(source.fail_on_data_loss).lower(),
        }
        if source.topics:
            options["subscribe"] = ",".join(source.topics)
        else:
            options["subscribePattern"] = str(source.pattern)
        options.update({k: str(v) for k, v in (source.options or {}).items()})
        return options

    def fingerprint(self) -> dict[str, object]:
        return {
            "kind": "kafka",
            "name": self.name,
            "topics": sorted(self.topics) if self.topics else None,
            "pattern": self.pattern,
        }

    @property
    def backfill_lateness(self) -> timedelta:
        return self.config.backfill_lateness

    def offsets_follow_time(self, timeout: float = 15.0) -> bool:
        """Whether record timestamps grow with offsets in every topic, so that a time range can
        be read through offsets looked up by timestamp.

        Only topics whose ``message.timestamp.type`` is ``LogAppendTime`` (the broker stamps each
        record as it appends it) qualify. ``CreateTime``, Kafka's default, is the producer's
        stamp, in any order: a lookup by timestamp can then give equal start and end offsets and
        read nothing. A ``pattern`` source (its topics are known only when Spark reads them) and
        a topic whose configuration cannot be read (no broker access, an option the admin client
        does not take) count as CreateTime: the caller reads every retained record instead.
        """
        source = self.config
        if not source.topics:
            return False
        # Both are public but re-exported without __all__, which mypy's strict mode reads as
        # private.
        from confluent_kafka.admin import (  # type: ignore[attr-defined]
            AdminClient,
            ConfigResource,
            ResourceType,
        )

        settings: dict[str, str | int | float | bool] = {
            "bootstrap.servers": source.bootstrap_servers
        }
        for key, value in (source.options or {}).items():
            # Security settings share their names with librdkafka's; other Java client settings
            # would make the admin client refuse to start.
            name = key.removeprefix("kafka.")
            if name.split(".")[0] in ("security", "sasl", "ssl"):
                settings[name] = str(value).lower() if isinstance(value, bool) else str(value)
        try:
            admin = AdminClient(settings)
            resources = [ConfigResource(ResourceType.TOPIC, topic) for topic in source.topics]
            futures = admin.describe_configs(resources, request_timeout=timeout)
            types = {
                resource.name: future.result(timeout=timeout)["message.timestamp.type"].value
                for resource, future in futures.items()
            }
        except Exception as exc:
            log.warning(
                "could not read message.timestamp.type of %s (%s); reading every retained record",
                source.topics,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
            return False
        return all(kind == "LogAppendTime" for kind in types.values())

    def read_batch(
        self,
        spark: SparkSession,
        *,
        start: date | None = None,
        end: date | None = None,
        version: int | None = None,
        margin: timedelta = timedelta(0),
        whole_if_unordered: bool = False,
    ) -> DataFrame:
        """The records stamped from ``start`` minus ``margin`` to ``end`` plus ``margin``:
        through offsets looked up by timestamp when the topics are ``LogAppendTime`` (see
        :meth:`offsets_follow_time`), else by reading every retained record and keeping those
        stamped in range, or, with ``whole_if_unordered``, all of them."""
        raw = spark.read.format("kafka").options(**self.options())
        margin_ms = round(margin.total_seconds() * 1000)
        low = None if start is None else max(0, _epoch_ms(start) - margin_ms)
        high = None if end is None else _epoch_ms(end) + margin_ms
        by_offsets = (low is not None or high is not None) and self.offsets_follow_time()
        # Offsets follow time only in LogAppendTime topics: partitions without records in
        # range contribute nothing.
        if by_offsets and low is not None:
            raw = raw.option("startingTimestamp", str(low))
            raw = raw.option("startingOffsetsByTimestampStrategy", "latest")
        else:
            raw = raw.option("startingOffsets", "earliest")
        if by_offsets and high is not None:
            raw = raw.option("endingTimestamp", str(high))
        else:
            raw = raw.option("endingOffsets", "latest")
        records = raw.load()
        if not by_offsets and not whole_if_unordered:
            stamped = F.col("timestamp")
            if low is not None:
                records = records.where(stamped >= F.timestamp_millis(F.lit(low)))
            if high is not None:
                records = records.where(stamped < F.timestamp_millis(F.lit(high)))
        return kafka_envelope(records, self.name)

    def read_stream(self, spark: SparkSession) -> DataFrame:
        reader = spark.readStream.format("kafka").options(**self.options())
        reader = reader.option("startingOffsets", self.config.starting_offsets)
        if self.config.max_offsets_per_trigger:
            reader = reader.option("maxOffsetsPerTrigger", str(self.config.max_offsets_per_trigger))
        return kafka_envelope(reader.load(), self.name)

    def check_reachable(self, *, within: float = 10.0) -> None:
        """Fail at once when no bootstrap server accepts a TCP connection.

        Spark's Kafka source retries an unreachable broker for minutes, with a warning a second,
        before it fails; this says so within seconds. Only the TCP connection is tried (whatever
        the security protocol), for up to ``within`` seconds (a broker restarting).

        Raises:
            PipelineRunError: ``KAFKA_UNREACHABLE`` naming the servers and why.
        """
        servers = _servers(self.bootstrap_servers)
        if not servers:
            return
        deadline = time.monotonic() + within
        while True:
            problems = []
            for host, port in servers:
                try:
                    with socket.create_connection((host, port), timeout=2):
                        return
                except OSError as exc:
                    problems.append(f"{host}:{port}: {exc.strerror or exc}")
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        raise PipelineRunError(
            "KAFKA_UNREACHABLE",
            f"Cannot connect to Kafka at {self.bootstrap_servers} (source {self.name!r}) within "
            f"{within:.0f} s: {'; '.join(problems)}. Check that the broker runs and that "
            "bootstrap_servers names it; nothing was read and the checkpoint did not move.",
            {"source": self.name, "bootstrap_servers": self.bootstrap_servers},
        )
