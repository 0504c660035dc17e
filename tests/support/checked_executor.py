"""``engagement_checked``: the demo's ``engagement`` executor that also calls the ``checks``
enrichment service. The stream subprocesses of the crash tests load it through an entry point
(see :func:`support.service.executor_env`)."""

from __future__ import annotations

from pyspark.sql import DataFrame

from spark_enrich import EnrichContext, executor
from spark_enrich_examples.engagement import Engagement, EngagementParams


@executor(
    name="engagement_checked",
    version="1.0.0",
    event_types=["pin_click", "pin_save", "pin_closeup"],
    params=EngagementParams,
    tables=("pins", "users"),
    services=("checks",),
)
class CheckedEngagement(Engagement):
    """``engagement`` with every event sent to the ``checks`` service."""

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        """The pin and user joins, then the service's answer."""
        return ctx.call_service("checks", super().enrich(df, ctx))
