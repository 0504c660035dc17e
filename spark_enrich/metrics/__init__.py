"""Where batch reports go: a Delta table, a Prometheus endpoint on the driver, JSON log lines —
several at once (``observability.metrics`` may list them) — or nowhere.

Every runtime (stream, batch, backfill) reports the same :class:`~spark_enrich.accounting.
BatchReport`, so the metrics have the same names everywhere, tagged with pipeline and executor.
A destination never fails or slows the data path: errors are logged (``METRICS_WRITE_FAILED``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spark_enrich.accounting import BatchReport, SourceLag
from spark_enrich.metrics.base import MetricsSink
from spark_enrich.metrics.prometheus import PrometheusMetrics
from spark_enrich.metrics.table import (
    BATCH_COUNTS,
    EXECUTOR_COUNTS,
    METRICS_SCHEMA,
    PHASES,
    DeltaMetrics,
    metrics_rows,
)
from spark_enrich.tables import TableRef

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_enrich.config import PipelineConfig

__all__ = [
    "BATCH_COUNTS",
    "EXECUTOR_COUNTS",
    "METRICS_SCHEMA",
    "PHASES",
    "AllMetrics",
    "DeltaMetrics",
    "LogMetrics",
    "MetricsSink",
    "NoMetrics",
    "PrometheusMetrics",
    "make_metrics",
    "metrics_rows",
]

log = logging.getLogger("spark_enrich.metrics")


@dataclass(frozen=True)
class NoMetrics(MetricsSink):
    """``observability.metrics.kind: none``: reports are not recorded."""


@dataclass(frozen=True)
class LogMetrics(MetricsSink):
    """``observability.metrics.kind: log``: one JSON line per batch at INFO."""

    def emit(self, spark: SparkSession, report: BatchReport) -> None:
        """Log ``report``."""
        try:
            log.info("batch %s", report.to_json())
        except Exception as exc:  # metrics must never stop the data path
            log.error("METRICS_WRITE_FAILED: batch %s not logged: %s", report.batch_id, exc)


@dataclass(frozen=True)
class AllMetrics(MetricsSink):
    """Several destinations at once, each in turn."""

    sinks: tuple[MetricsSink, ...]

    def start(self) -> None:
        for sink in self.sinks:
            sink.start()

    def emit(self, spark: SparkSession, report: BatchReport) -> None:
        for sink in self.sinks:
            sink.emit(spark, report)

    def lag(self, pipeline: str, lag: SourceLag) -> None:
        for sink in self.sinks:
            sink.lag(pipeline, lag)

    def find(self, kind: type[MetricsSink]) -> MetricsSink | None:
        """The first destination of type ``kind``."""
        return next((s for s in self.sinks if isinstance(s, kind)), None)


def make_metrics(config: PipelineConfig) -> MetricsSink:
    """The metrics destination(s) of a validated configuration's ``observability.metrics``."""
    from spark_enrich.config import models

    sinks: list[MetricsSink] = []
    for section in config.observability.destinations():
        if isinstance(section, models.DeltaMetrics):
            sinks.append(DeltaMetrics(TableRef(path=section.path)))
        elif isinstance(section, models.PrometheusMetrics):
            sinks.append(PrometheusMetrics(section.host, section.port))
        elif isinstance(section, models.LogMetrics):
            sinks.append(LogMetrics())
    if not sinks:
        return NoMetrics()
    return sinks[0] if len(sinks) == 1 else AllMetrics(tuple(sinks))
