"""``search``: search queries typed by users.

Rules:
    - filter: drop automated traffic (user agent matches ``bot_pattern``) and queries that are
      missing, blank, or shorter than ``min_query_chars`` once normalised (see below).
    - featurise: the query is normalised to lower case, with runs of whitespace (tabs, new
      lines, Unicode spaces) collapsed to one space and trimmed; ``query_tokens`` are its
      space-separated words; ``hour_of_week`` (UTC, Monday 00:00 = 0).
    - enrich: ``user_country`` from the ``users`` table (null for an unknown user).
    - normalise: a search is about no pin: ``item_id``, ``board_id``, ``category``,
      ``language``, ``pin_age_days``, ``dwell_ms`` and ``dwell_bucket`` are null; ``event_date``
      is the UTC date.
"""

from __future__ import annotations

from pydantic import Field
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_enrich import EnrichContext, Executor, executor
from spark_enrich_examples.common import (
    HumanTrafficParams,
    event_date,
    hour_of_week,
    is_bot,
    join_users,
    params_or_defaults,
)


class SearchParams(HumanTrafficParams):
    """Parameters of the ``search`` executor."""

    min_query_chars: int = Field(
        default=1, ge=1, description="Shortest normalised query (in characters) that counts."
    )


def normalised_query(query: Column) -> Column:
    """Lower case, whitespace runs collapsed to one space, trimmed; null stays null."""
    return F.lower(F.trim(F.regexp_replace(query, r"(?U)\s+", " ")))


def query_tokens(normalised: Column) -> Column:
    """Words of a normalised query; an empty query has no words, a null query null."""
    return (
        F.when(normalised.isNull(), F.lit(None).cast("array<string>"))
        .when(normalised == "", F.array().cast("array<string>"))
        .otherwise(F.split(normalised, " "))
    )


@executor(
    name="search",
    version="1.0.0",
    event_types=["search_query"],
    params=SearchParams,
    tables=("users",),
)
class Search(Executor):
    """Search queries, normalised and tokenised, enriched with the user's country."""

    @property
    def settings(self) -> SearchParams:
        """The validated params, or the defaults when the pipeline gives none."""
        return params_or_defaults(self.params, SearchParams)

    def filter(self, df: DataFrame) -> DataFrame:
        """Keep human searches whose normalised query has at least ``min_query_chars``."""
        p = self.settings
        query_length = F.length(normalised_query(F.col("query")))
        return df.where(
            ~is_bot(F.col("user_agent"), p.bot_pattern)
            & F.coalesce(query_length >= p.min_query_chars, F.lit(False))
        )

    def featurise(self, df: DataFrame) -> DataFrame:
        """Replace ``query`` by its normalised form; add ``query_tokens`` and ``hour_of_week``."""
        with_query = df.withColumn("query", normalised_query(F.col("query")))
        return with_query.withColumns(
            {
                "query_tokens": query_tokens(F.col("query")),
                "hour_of_week": hour_of_week(F.col("event_time")),
            }
        )

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        """Join ``users`` on ``user_id`` (left)."""
        return join_users(df, ctx.table("users"))

    def normalise(self, df: DataFrame) -> DataFrame:
        """Map to the normalised user-event contract; pin and dwell fields are null."""
        null_string = F.lit(None).cast("string")
        return df.withColumns(
            {
                "event_date": event_date(F.col("event_time")),
                "item_id": null_string,
                "board_id": null_string,
                "category": null_string,
                "language": null_string,
                "pin_age_days": F.lit(None).cast("int"),
                "dwell_ms": F.lit(None).cast("bigint"),
                "dwell_bucket": null_string,
            }
        )
