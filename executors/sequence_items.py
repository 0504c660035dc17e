"""``sequence_items``: enriched events as items of the per-user sequence.

Reads the demo pipeline's enriched table (any of its event types) and makes each event one item
of its user's sequence; the engine's ``sequence`` sink keeps each user's last events.

Rules:
    - filter: drop events that name nothing a sequence model can use (no item and no query).
    - featurise: ``token`` is what the event is about, in one vocabulary: the pin id for pin
      events, ``q:`` and the normalised query for searches.
    - enrich: nothing (the events are enriched already).
    - normalise: the enriched columns are kept as they are.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_enrich import Executor, executor

PIN_EVENT_TYPES = ["pin_click", "pin_save", "pin_closeup", "pin_impression"]
SEARCH_EVENT_TYPE = "search_query"


@executor(
    name="sequence_items",
    version="1.0.0",
    event_types=[*PIN_EVENT_TYPES, SEARCH_EVENT_TYPE],
)
class SequenceItems(Executor):
    """One sequence item per enriched pin or search event."""

    def filter(self, df: DataFrame) -> DataFrame:
        """Keep events about a pin or carrying a query."""
        return df.where(F.col("item_id").isNotNull() | F.col("query").isNotNull())

    def featurise(self, df: DataFrame) -> DataFrame:
        """Add ``token``: the pin id, or ``q:`` and the query for a search."""
        token = F.when(
            F.col("event_type") == SEARCH_EVENT_TYPE, F.concat(F.lit("q:"), F.col("query"))
        ).otherwise(F.col("item_id"))
        return df.withColumn("token", token)
