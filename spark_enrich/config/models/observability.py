"""Where a pipeline's metrics go: ``observability.metrics``, one destination or several."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from spark_enrich.config.models._base import ConfigModel
from spark_enrich.config.models.thresholds import Thresholds
from spark_enrich.config.types import PathStr


class LogMetrics(ConfigModel):
    """Metrics go to the driver log: one JSON line per batch (logger `spark_enrich.metrics`)."""

    kind: Literal["log"] = Field(description="`log`.")


class DeltaMetrics(ConfigModel):
    """Metrics are appended to a Delta table: one row per batch and one per executor of it."""

    kind: Literal["delta"] = Field(description="`delta`.")
    path: PathStr = Field(description="Path of the metrics table.")


class PrometheusMetrics(ConfigModel):
    """Metrics are served on the driver in Prometheus' text format (`GET /metrics`)."""

    kind: Literal["prometheus"] = Field(description="`prometheus`.")
    port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="TCP port of the endpoint (0: any free port, as tests use).",
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address the endpoint binds to: loopback by default; `0.0.0.0` exposes it "
        "to the network (the endpoint has no authentication).",
    )


class NoMetrics(ConfigModel):
    """Metrics are not recorded."""

    kind: Literal["none"] = Field(description="`none`.")


Metrics = Annotated[
    LogMetrics | DeltaMetrics | PrometheusMetrics | NoMetrics, Field(discriminator="kind")
]


class Observability(ConfigModel):
    """Where run metrics go, and when ``spark-enrich status`` calls the pipeline unhealthy."""

    metrics: Metrics | list[Metrics] = Field(
        default_factory=lambda: LogMetrics(kind="log"),
        description="Metrics destination, or a list of them (all at once), e.g. "
        "`[{kind: delta, path: ...}, {kind: prometheus, port: 9464}, {kind: log}]`.",
    )
    thresholds: Thresholds = Field(
        default_factory=Thresholds, description="Limits checked by `spark-enrich status`."
    )

    def destinations(self) -> list[LogMetrics | DeltaMetrics | PrometheusMetrics | NoMetrics]:
        """The configured destinations, as a list."""
        return list(self.metrics) if isinstance(self.metrics, list) else [self.metrics]
