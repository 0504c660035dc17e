"""``sequence_items``: enriched events as items of the per-user sequence.

Reads the demo pipeline's enriched table (any of its event types) and makes each event one item
of its user's sequence; the engine's ``sequence`` sink keeps each user's last events.

Rules:
    - filter: drop events without a token (a search without its query, a pin event without
      its pin).
    - featurise: ``token`` is what the event is about, in one vocabulary: the pin id for pin
      events, ``q:`` and the normalised query for searches.
    - enrich: nothing (the events are enriched already).
    - normalise: the enriched columns are kept as they are.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_enrich import Executor, executor

PIN_EVENT_TYPES = ["pin_click", "pin_save", "pin_closeup", "pin_impression"]
SEARCH_EVENT_TYPE = "search_query"


def token(event_type: Column, item_id: Column, query: Column) -> Column:
    """What an event is about: ``q:`` and the query for a search, the pin id otherwise."""
    return F.when(event_type == SEARCH_EVENT_TYPE, F.concat(F.lit("q:"), query)).otherwise(item_id)


def _token() -> Column:
    return token(F.col("event_type"), F.col("item_id"), F.col("query"))


@executor(
    name="sequence_items",
    version="1.0.0",
    event_types=[*PIN_EVENT_TYPES, SEARCH_EVENT_TYPE],
)
class SequenceItems(Executor):
    """One sequence item per enriched pin or search event."""

    def filter(self, df: DataFrame) -> DataFrame:
        """Keep events with a token: a search with its query, a pin event with its pin."""
        return df.where(_token().isNotNull())

    def featurise(self, df: DataFrame) -> DataFrame:
        """Add ``token``."""
        return df.withColumn("token", _token())
