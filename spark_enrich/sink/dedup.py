"""``sink.dedup``: redelivered events dropped by their id before the executors, so that a stream
can append each micro-batch instead of merging it.

Why the event id, before the executors, and not the output key after them: Spark keeps
streaming state only in the streaming plan, which ends where ``foreachBatch`` starts, and the
executors run inside ``foreachBatch``. Executors are deterministic functions of their event
(see DESIGN.md), so two deliveries of one event give the same output rows with the same output
keys: dropping the second delivery drops exactly its duplicate rows, whatever number of rows an
executor makes of one event. This holds when one id means one event; a stream whose events can
come again under the same id with other content (corrections) needs ``mode: merge`` without
``dedup``.

Why the arrival time, not the event time, as the watermark: Spark's deduplication drops every
row older than the watermark, so an event-time watermark would drop late events before the
engine could count them, breaking "nothing is lost silently". Each micro-batch's processing
time (``current_timestamp()``, fixed per batch and kept in the offset log, so a replay after a
crash sees the same) is never late: a redelivery is dropped when it arrives within ``window`` of
the first delivery, and state holds the ids of one window of arrivals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from spark_enrich.decode import PAYLOAD

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"

STREAM_SETTINGS = {
    # RocksDB keeps the ids off the JVM heap; the default provider holds them all in memory.
    "spark.sql.streaming.stateStore.providerClass": ROCKSDB_PROVIDER,
    # Each commit uploads only the ids changed since the last one, not a snapshot of them all.
    "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
    # A watermark that moves would otherwise schedule an extra, empty micro-batch after each
    # one, only to evict expired ids: the next micro-batch with data evicts them as well.
    "spark.sql.streaming.noDataMicroBatches.enabled": "false",
}
"""Session settings a deduplicating stream starts with (a query copies the session's settings
when it starts; the state store provider is then kept in its checkpoint)."""

_KEY = "_se_dedup_key"
_ARRIVED = "_se_arrived_at"


@dataclass(frozen=True)
class Redeliveries:
    """Drops deliveries of an event id seen before (``sink.dedup``).

    Args:
        id_field: the payload field holding the event id (``decoding.event_id_field``).
        window: how long after its first delivery a stream still drops a redelivery.

    Example:
        >>> from datetime import timedelta
        >>> Redeliveries("event_id", timedelta(hours=1)).watermark_delay()
        '3600000 milliseconds'
    """

    id_field: str
    window: timedelta

    def watermark_delay(self) -> str:
        """``window`` as Spark's ``withWatermark`` delay, in whole milliseconds."""
        return f"{max(1, round(self.window.total_seconds() * 1000))} milliseconds"

    def key(self) -> Column:
        """What two deliveries of one event share: the id, read from the payload as text.

        A row without an id (not JSON, the field missing or null) gets a key of its own, so it
        is never taken for a redelivery: it goes on to decoding and its dead letter.
        """
        # Read as text whatever its JSON type: deliveries of one event have the same payload.
        schema = StructType([StructField(self.id_field, StringType())])
        event_id = F.from_json(F.col(PAYLOAD), schema, {"mode": "PERMISSIVE"})[self.id_field]
        unique = F.concat(F.lit("row:"), F.expr("uuid()"))
        return F.coalesce(F.concat(F.lit("id:"), event_id), unique)

    def in_stream(self, envelope: DataFrame) -> DataFrame:
        """A streaming envelope without the redeliveries of the last ``window`` (Spark's
        streaming state; run with :data:`STREAM_SETTINGS`)."""
        return (
            envelope.withColumn(_KEY, self.key())
            .withColumn(_ARRIVED, F.current_timestamp())
            .withWatermark(_ARRIVED, self.watermark_delay())
            .dropDuplicatesWithinWatermark([_KEY])
            .drop(_KEY, _ARRIVED)
        )

    def in_batch(self, envelope: DataFrame) -> DataFrame:
        """A batch envelope with one delivery of each event id it holds (which one is left
        to Spark: they differ only in their source coordinates)."""
        return envelope.withColumn(_KEY, self.key()).dropDuplicates([_KEY]).drop(_KEY)
