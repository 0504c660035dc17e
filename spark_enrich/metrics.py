"""Where batch reports go: the log (one JSON line per batch), a Delta table, or nowhere."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from pyspark.sql.types import (
    ArrayType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from spark_enrich.accounting import BatchReport
from spark_enrich.delta_commit import with_conflict_retry
from spark_enrich.tables import TableRef

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_enrich.config import PipelineConfig

log = logging.getLogger("spark_enrich.metrics")

COUNTS = (
    "source_rows",
    "routed",
    "unrouted",
    "unrouted_dead_lettered",
    "output",
    "filtered",
    "dead_lettered",
    "outside_range",
    "sink_rows_added",
    "dead_letters_written",
)
"""The per-batch counts of a :class:`BatchReport`, one BIGINT column each."""
EXECUTOR_COUNTS = ("input", "filtered", "output", "dead_lettered", "outside_range")

METRICS_SCHEMA = StructType(
    [
        StructField("pipeline", StringType()),
        StructField("run_id", StringType()),
        StructField("batch_id", LongType()),
        StructField("chunk", StringType()),
        StructField("recorded_at", TimestampType()),
        *(StructField(name, LongType()) for name in COUNTS),
        StructField("decode_dead_lettered", MapType(StringType(), LongType())),
        StructField(
            "executors",
            ArrayType(
                StructType(
                    [
                        StructField("executor", StringType()),
                        StructField("version", StringType()),
                        *(StructField(name, LongType()) for name in EXECUTOR_COUNTS),
                    ]
                )
            ),
        ),
    ]
)
"""The metrics table: one row per batch (micro-batch, batch run, backfill chunk). Explicit, so
that a row whose ``chunk`` is null (every run but a backfill) or whose lists are empty is written
like any other: Spark cannot infer a type from a None."""


def metrics_row(report: BatchReport, recorded_at: datetime) -> tuple[Any, ...]:
    """``report`` as a row of :data:`METRICS_SCHEMA`."""
    return (
        report.pipeline,
        report.run_id,
        report.batch_id,
        report.chunk,
        recorded_at,
        *(int(getattr(report, name)) for name in COUNTS),
        dict(report.decode_dead_lettered),
        [
            (e.executor, e.version, *(int(getattr(e, name)) for name in EXECUTOR_COUNTS))
            for e in report.executors
        ],
    )


class MetricsSink(Protocol):
    """Where a pipeline's batch reports go; chosen once by :func:`make_metrics`."""

    def emit(self, spark: SparkSession, report: BatchReport) -> None:
        """Record ``report``; a metrics failure never fails the pipeline."""


@dataclass(frozen=True)
class NoMetrics:
    """``observability.metrics.kind: none``: reports are not recorded."""

    def emit(self, spark: SparkSession, report: BatchReport) -> None:
        """Nothing."""


@dataclass(frozen=True)
class LogMetrics:
    """``observability.metrics.kind: log``: one JSON line per batch at INFO."""

    def emit(self, spark: SparkSession, report: BatchReport) -> None:
        """Log ``report``."""
        log.info("batch %s", report.to_json())


@dataclass(frozen=True)
class DeltaMetrics:
    """``observability.metrics.kind: delta``: one row per batch appended to ``table``."""

    table: TableRef

    def emit(self, spark: SparkSession, report: BatchReport) -> None:
        """Append ``report``; a metrics failure is logged as an error, never fails the
        pipeline."""
        try:
            row = metrics_row(report, datetime.now(timezone.utc))
            frame = spark.createDataFrame([row], METRICS_SCHEMA)
            # mergeSchema: a table written before a column was added still takes new rows.
            writer = frame.write.format("delta").mode("append").option("mergeSchema", "true")
            with_conflict_retry(lambda: self.table.save(writer), what="metrics append")
        except Exception as exc:  # metrics must never stop the data path
            # Loud, with the cause: a quiet line here once hid that no run wrote metrics.
            log.error(
                "METRICS_WRITE_FAILED: the metrics of batch %s of pipeline %r (run %s) were not "
                "written to %s; the batch's sink and dead letters are not affected. A table "
                "of another schema at that path (an older layout) needs a new path. Cause: %s",
                report.batch_id,
                report.pipeline,
                report.run_id,
                self.table.location,
                exc,
                exc_info=True,
            )


def make_metrics(config: PipelineConfig) -> MetricsSink:
    """The metrics strategy of a validated configuration's ``observability.metrics``."""
    from spark_enrich.config import models

    section = config.observability.metrics
    if isinstance(section, models.DeltaMetrics):
        return DeltaMetrics(TableRef(path=section.path))
    if isinstance(section, models.NoMetrics):
        return NoMetrics()
    return LogMetrics()
