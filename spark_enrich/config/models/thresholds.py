"""``observability.thresholds``: when ``spark-enrich status`` calls a pipeline unhealthy."""

from __future__ import annotations

from pydantic import Field

from spark_enrich.config.models._base import ConfigModel
from spark_enrich.config.types import Duration, Float, Int


class Thresholds(ConfigModel):
    """Limits ``spark-enrich status`` checks; a breached one makes it exit 4. Each is off when
    null."""

    max_lag: Int | None = Field(
        default=None,
        ge=0,
        description="Most source lag allowed in the latest micro-batch: Kafka offsets behind "
        "the latest (all topic-partitions together), or Delta versions behind.",
    )
    max_staleness: Duration | None = Field(
        default=None,
        description="Longest time allowed since the pipeline's last commit (a micro-batch, a "
        "batch run or a backfill chunk): `15m`, `2h`.",
    )
    max_dead_letter_share: Float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest share of input events dead-lettered allowed in the latest run, "
        "per executor and for the pipeline as a whole (0.01 = 1 %).",
    )
