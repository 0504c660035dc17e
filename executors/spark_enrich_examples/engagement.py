"""``engagement``: clicks, saves and close-ups on pins.

Rules:
    - filter: drop automated traffic (user agent matches ``bot_pattern``), drop events without
      a ``pin_id``, and drop close-ups shorter than ``min_closeup_ms`` (a close-up without a
      dwell time is dropped too: it cannot show that the pin was looked at).
    - featurise: ``dwell_bucket`` and ``hour_of_week`` (UTC, Monday 00:00 = 0).
    - enrich: pin attributes from the ``pins`` table (``category``, ``language``,
      ``pin_age_days``; the pin's board when the event has none) and ``user_country`` from the
      ``users`` table. Unknown pins and users keep the event, with null attributes.
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
    join_users,
    normalise_pin_event,
    params_or_defaults,
)


class EngagementParams(HumanTrafficParams):
    """Parameters of the ``engagement`` executor."""

    min_closeup_ms: int = Field(default=500, ge=0, description="Shortest close-up that counts.")


@executor(
    name="engagement",
    version="1.0.0",
    event_types=["pin_click", "pin_save", "pin_closeup"],
    params=EngagementParams,
    tables=("pins", "users"),
)
class Engagement(Executor):
    """Clicks, saves and close-ups on pins, enriched with pin and user attributes."""

    @property
    def settings(self) -> EngagementParams:
        """The validated params, or the defaults when the pipeline gives none."""
        return params_or_defaults(self.params, EngagementParams)

    def filter(self, df: DataFrame) -> DataFrame:
        """Keep human events on a known pin id; keep close-ups of at least ``min_closeup_ms``."""
        p = self.settings
        long_enough = (F.col("event_type") != "pin_closeup") | (
            F.col("dwell_ms") >= p.min_closeup_ms
        )
        return df.where(
            ~is_bot(F.col("user_agent"), p.bot_pattern)
            & F.col("pin_id").isNotNull()
            & F.coalesce(long_enough, F.lit(False))
        )

    def featurise(self, df: DataFrame) -> DataFrame:
        """Add ``dwell_bucket`` and ``hour_of_week``."""
        return df.withColumns(
            {
                "dwell_bucket": dwell_bucket(F.col("dwell_ms")),
                "hour_of_week": hour_of_week(F.col("event_time")),
            }
        )

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        """Join ``pins`` (on ``pin_id``) and ``users`` (on ``user_id``), both left joins."""
        return join_users(join_pins(df, ctx.table("pins")), ctx.table("users"))

    def normalise(self, df: DataFrame) -> DataFrame:
        """Map to the normalised user-event contract."""
        return normalise_pin_event(df)
