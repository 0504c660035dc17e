"""``impressions``: pins shown to a user in a feed or result list.

Rules:
    - filter: drop automated traffic (user agent matches ``bot_pattern``), events without a
      ``pin_id``, and events whose ``position`` is missing, negative or above
      ``max_position`` (position 0 is the first slot and is kept).
    - featurise: ``hour_of_week`` (UTC, Monday 00:00 = 0) and ``dwell_bucket`` (null unless
      the client reported a dwell time).
    - enrich: pin attributes from the ``pins`` table (``category``, ``language``,
      ``pin_age_days``; the pin's board when the event has none). Impressions are too many
      to join users: ``user_country`` is null.
    - normalise: ``item_id`` is the pin; ``event_date`` is the UTC date; no query fields.
"""

from __future__ import annotations

from pydantic import Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_enrich import EnrichContext, Executor, executor
from spark_enrich_examples.common import (
    HumanTrafficParams,
    dwell_bucket,
    hour_of_week,
    is_bot,
    join_pins,
    normalise_pin_event,
    params_or_defaults,
)


class ImpressionsParams(HumanTrafficParams):
    """Parameters of the ``impressions`` executor."""

    max_position: int = Field(default=100, ge=0, description="Deepest slot that counts.")


@executor(
    name="impressions",
    version="1.0.0",
    event_types=["pin_impression"],
    params=ImpressionsParams,
    tables=("pins",),
)
class Impressions(Executor):
    """Pin impressions, enriched with pin attributes."""

    @property
    def settings(self) -> ImpressionsParams:
        """The validated params, or the defaults when the pipeline gives none."""
        return params_or_defaults(self.params, ImpressionsParams)

    def filter(self, df: DataFrame) -> DataFrame:
        """Keep human impressions of a pin id at a position in ``[0, max_position]``."""
        p = self.settings
        position = F.col("position")
        return df.where(
            ~is_bot(F.col("user_agent"), p.bot_pattern)
            & F.col("pin_id").isNotNull()
            & F.coalesce(position.between(0, p.max_position), F.lit(False))
        )

    def featurise(self, df: DataFrame) -> DataFrame:
        """Add ``hour_of_week`` and ``dwell_bucket``."""
        return df.withColumns(
            {
                "hour_of_week": hour_of_week(F.col("event_time")),
                "dwell_bucket": dwell_bucket(F.col("dwell_ms")),
            }
        )

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        """Join ``pins`` on ``pin_id`` (left); ``user_country`` is null."""
        return join_pins(df, ctx.table("pins")).withColumn(
            "user_country", F.lit(None).cast("string")
        )

    def normalise(self, df: DataFrame) -> DataFrame:
        """Map to the normalised user-event contract."""
        return normalise_pin_event(df)
