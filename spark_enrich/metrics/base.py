"""The interface every metrics destination implements."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_enrich.accounting import BatchReport, SourceLag


class MetricsSink:
    """Where a pipeline's metrics go; chosen once by :func:`make_metrics`. Nothing by
    default: a destination overrides what it records."""

    def start(self) -> None:
        """Get ready before the first batch (a live endpoint starts serving)."""

    def emit(self, spark: SparkSession, report: BatchReport) -> None:
        """Record ``report``; a metrics failure never fails the pipeline."""

    def lag(self, pipeline: str, lag: SourceLag) -> None:
        """Record a running stream's source lag as Spark reports it (after each trigger)."""
