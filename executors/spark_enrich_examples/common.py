"""Expressions and joins shared by the example executors of the pin-sharing app.

Everything here is a native Spark expression or a pure DataFrame transformation: no I/O, no
UDFs, and no dependence on the session time zone (time features are computed in UTC from the
instant itself, so a cluster configured for another zone gives the same values).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, Field
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_enrich import Params

P = TypeVar("P", bound=BaseModel)

DEFAULT_BOT_PATTERN = "(?i)(bot|crawler|spider|headless)"
"""User agents matching this (Java) regular expression are treated as automated traffic."""

_SECONDS_PER_HOUR = 3600
_SECONDS_PER_DAY = 86_400
_HOURS_PER_WEEK = 168
# 1970-01-01 was a Thursday: epoch hour 0 is hour 72 of its Monday-based week.
_EPOCH_HOUR_OF_WEEK = 72


class HumanTrafficParams(Params):
    """Params every example executor shares: how automated traffic is recognised."""

    bot_pattern: str = Field(
        default=DEFAULT_BOT_PATTERN,
        min_length=1,
        description="Java regular expression matched against the user agent.",
    )


def params_or_defaults(params: BaseModel | None, model: type[P]) -> P:
    """The executor's validated params, or ``model()`` (the defaults) when it was given none.

    Raises:
        TypeError: ``params`` is a model of another type (a wiring mistake, not bad config).
    """
    if params is None:
        return model()
    if not isinstance(params, model):
        raise TypeError(f"expected {model.__name__} params, got {type(params).__name__}")
    return params


def _null_string() -> Column:
    return F.lit(None).cast("string")


def is_bot(user_agent: Column, pattern: str = DEFAULT_BOT_PATTERN) -> Column:
    """True when ``user_agent`` matches ``pattern``; a missing user agent is not a bot."""
    return F.coalesce(user_agent.rlike(pattern), F.lit(False))


def utc_day_number(ts: Column) -> Column:
    """Days since 1970-01-01 of the UTC calendar date of ``ts`` (bigint; null stays null)."""
    return F.floor(F.unix_seconds(ts) / _SECONDS_PER_DAY)


def event_date(ts: Column) -> Column:
    """The UTC calendar date of ``ts``."""
    return F.date_from_unix_date(utc_day_number(ts).cast("int"))


def hour_of_week(ts: Column) -> Column:
    """Hour of the UTC week of ``ts``: Monday 00:00-00:59 is 0, Sunday 23:00-23:59 is 167."""
    epoch_hour = F.floor(F.unix_seconds(ts) / _SECONDS_PER_HOUR)
    return F.pmod(epoch_hour + _EPOCH_HOUR_OF_WEEK, F.lit(_HOURS_PER_WEEK)).cast("int")


def dwell_bucket(dwell_ms: Column) -> Column:
    """Coarse dwell time: ``'<1s'`` below 1000 ms, ``'1-5s'`` below 5000, ``'5-30s'`` below
    30000, ``'30s+'`` from 30000 on; null when the dwell time is unknown."""
    return (
        F.when(dwell_ms.isNull(), _null_string())
        .when(dwell_ms < 1_000, F.lit("<1s"))
        .when(dwell_ms < 5_000, F.lit("1-5s"))
        .when(dwell_ms < 30_000, F.lit("5-30s"))
        .otherwise(F.lit("30s+"))
    )


def join_pins(events: DataFrame, pins: DataFrame) -> DataFrame:
    """Left-join the pins table (``pin_id, board_id, category, language, created_at``) on
    ``pin_id`` and derive the pin features.

    Rules:
        - every event is kept; an unknown pin gives null ``category``, ``language`` and
          ``pin_age_days``;
        - ``board_id``: the event's own board when it has one, else the pin's board;
        - ``pin_age_days``: whole UTC calendar days from the pin's ``created_at`` to the
          event (``datediff`` in UTC); negative when the event predates the pin.

    ``pins`` is ``ctx.table("pins")``: the engine serves it with one row per ``pin_id``
    (``enrichments.tables[].keys``) and broadcast-hinted when the pipeline says so, so an event
    joins at most one pin.
    """
    pin_side = pins.select(
        F.col("pin_id"),
        F.col("board_id").alias("_pin_board_id"),
        F.col("category").alias("_pin_category"),
        F.col("language").alias("_pin_language"),
        F.col("created_at").alias("_pin_created_at"),
    )
    joined = events.join(pin_side, on="pin_id", how="left")
    return joined.withColumns(
        {
            "board_id": F.coalesce(F.col("board_id"), F.col("_pin_board_id")),
            "category": F.col("_pin_category"),
            "language": F.col("_pin_language"),
            "pin_age_days": (
                utc_day_number(F.col("event_time")) - utc_day_number(F.col("_pin_created_at"))
            ).cast("int"),
        }
    ).drop("_pin_board_id", "_pin_category", "_pin_language", "_pin_created_at")


def join_users(events: DataFrame, users: DataFrame) -> DataFrame:
    """Left-join the users table (``user_id, country, signup_time``) on ``user_id``: adds
    ``user_country`` (null for an unknown user). ``users`` is ``ctx.table("users")``, one row
    per ``user_id`` as the engine serves it."""
    user_side = users.select(F.col("user_id"), F.col("country").alias("_user_country"))
    joined = events.join(user_side, on="user_id", how="left")
    return joined.withColumn("user_country", F.col("_user_country")).drop("_user_country")


def null_query_fields(df: DataFrame) -> DataFrame:
    """Set ``query`` and ``query_tokens`` to typed nulls (events that are not searches)."""
    return df.withColumns(
        {
            "query": _null_string(),
            "query_tokens": F.lit(None).cast("array<string>"),
        }
    )


def normalise_pin_event(df: DataFrame) -> DataFrame:
    """Output contract of a pin event: ``item_id`` is the pin, ``event_date`` the UTC date of
    ``event_time``, and a pin event carries no query."""
    return null_query_fields(
        df.withColumns(
            {
                "item_id": F.col("pin_id"),
                "event_date": event_date(F.col("event_time")),
            }
        )
    )
