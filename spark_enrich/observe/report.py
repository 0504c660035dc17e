"""``spark-enrich report``: a pipeline's metrics table as charts over time, per executor.

Example:
    >>> from spark_enrich.observe.report import metrics_report   # doctest: +SKIP
    >>> report = metrics_report(config, spark)                    # doctest: +SKIP
    >>> Path("report.html").write_text(report.html())             # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from spark_enrich.errors import SparkEnrichError
from spark_enrich.observe.charts import Chart, metric_charts
from spark_enrich.observe.history import BatchPoint, read_batches
from spark_enrich.observe.status import metrics_table_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_enrich.config import PipelineConfig


@dataclass(frozen=True)
class MetricsReport:
    """The charts of one pipeline and the batches they were drawn from."""

    pipeline: str
    metrics_table: str
    created_at: datetime
    points: list[BatchPoint]
    charts: list[Chart]

    def html(self) -> str:
        """The report as one self-contained HTML page (the charts inline as PNG data URIs)."""
        from spark_enrich.observe.report_html import report_html

        return report_html(self)


def report_table(config: PipelineConfig) -> str:
    """The metrics table ``report`` charts (checked before Spark starts).

    Raises:
        SparkEnrichError: ``NO_METRICS_TABLE`` when the pipeline has no ``kind: delta`` metrics
            destination.
    """
    path = metrics_table_path(config)
    if path is None:
        raise SparkEnrichError(
            "NO_METRICS_TABLE",
            f"Pipeline {config.name!r} has no Delta metrics table to chart (its metrics go to: "
            f"{_kinds(config)}): add {{kind: delta, path: ...}} to observability.metrics, run "
            "the pipeline, then run report again.",
            {"pipeline": config.name},
        )
    return path


def metrics_report(config: PipelineConfig, spark: SparkSession) -> MetricsReport:
    """Read ``config``'s metrics table (the newest batches ``status`` reads too) and draw its
    charts. Reads only.

    Raises:
        SparkEnrichError: ``NO_METRICS_TABLE`` (see :func:`report_table`);
            ``METRICS_TABLE_EMPTY`` when the table does not exist yet or holds no batch of
            this pipeline.
    """
    path = report_table(config)
    points = read_batches(spark, path, config.name)
    if not points:
        raise SparkEnrichError(
            "METRICS_TABLE_EMPTY",
            f"The metrics table {path} holds no batch of pipeline {config.name!r} (it does not "
            "exist yet, or no run wrote to it): run the pipeline first.",
            {"pipeline": config.name, "path": path},
        )
    return MetricsReport(
        pipeline=config.name,
        metrics_table=path,
        created_at=datetime.now(timezone.utc),
        points=points,
        charts=metric_charts(points),
    )


def _kinds(config: PipelineConfig) -> str:
    section = config.observability.metrics
    destinations = section if isinstance(section, list) else [section]
    return ", ".join(str(getattr(d, "kind", d)) for d in destinations) or "nowhere"
