"""The Delta metrics table: one row per batch (``executor`` null: the source, the router, the
writes, timings, lag) and one per executor of the batch (its counts and freshness)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pyspark.sql.types import (
    DoubleType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from spark_enrich.accounting import BatchReport, ExecutorCounts, Freshness
from spark_enrich.columns import Reason
from spark_enrich.delta_commit import with_conflict_retry
from spark_enrich.metrics.base import MetricsSink
from spark_enrich.tables import TableRef

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("spark_enrich.metrics")

PHASES = ("read", "decode", "executors", "dead_letters", "sink")
"""The phases of a batch whose wall time is recorded (``<phase>_ms``)."""
BATCH_COUNTS = (
    "source_rows",
    "routed",
    "unrouted",
    "unrouted_dead_lettered",
    "sink_rows_added",
    "dead_letters_written",
)
"""Counts of the batch as a whole: on its batch row only."""
EXECUTOR_COUNTS = ("input", "filtered", "output", "outside_range")
"""Counts of one executor: on its executor row only."""

_BIGINT_MAP = MapType(StringType(), LongType())
METRICS_SCHEMA = StructType(
    [
        StructField("pipeline", StringType()),
        StructField("run_id", StringType()),
        StructField("runtime", StringType()),
        StructField("batch_id", LongType()),
        StructField("chunk", StringType()),
        StructField("recorded_at", TimestampType()),
        StructField("committed_at", TimestampType()),
        StructField("executor", StringType()),
        StructField("version", StringType()),
        *(StructField(name, LongType()) for name in BATCH_COUNTS),
        *(StructField(name, LongType()) for name in EXECUTOR_COUNTS),
        StructField("dead_lettered", LongType()),
        StructField("dead_lettered_by_reason", _BIGINT_MAP),
        StructField("duration_ms", LongType()),
        *(StructField(f"{phase}_ms", LongType()) for phase in PHASES),
        StructField("input_rows_per_second", DoubleType()),
        StructField("processed_rows_per_second", DoubleType()),
        StructField("lag_offsets", LongType()),
        StructField("lag_by_partition", _BIGINT_MAP),
        StructField("lag_versions", LongType()),
        StructField("newest_event_time", TimestampType()),
        StructField("freshness_ms", LongType()),
        StructField("freshness_p50_ms", LongType()),
        StructField("freshness_p99_ms", LongType()),
        StructField("snapshots", _BIGINT_MAP),
    ]
)
"""The metrics table. Summing a count over all rows of a run gives the run's total: a batch's
counts are on its batch row, an executor's on its row, and ``dead_lettered`` is split between
them (the batch row: decode dead letters and unrouted ones; an executor row: its own).
Explicit, so that a null (``chunk`` outside backfills, a count on the other kind of row) is
written like any other value: Spark cannot infer a type from a None."""


def _freshness(freshness: Freshness | None) -> tuple[int | None, ...]:
    if freshness is None:
        return (None, None, None)
    return (freshness.newest_ms, freshness.p50_ms, freshness.p99_ms)


def _batch_row(report: BatchReport) -> tuple[Any, ...]:
    router = dict(report.decode_dead_lettered)
    if report.unrouted_dead_lettered:
        router[Reason.UNKNOWN_EVENT_TYPE.value] = report.unrouted_dead_lettered
    lag = report.lag
    newest = max(
        (e.event_times.newest for e in report.executors if e.event_times is not None),
        default=None,
    )
    return (
        None,
        None,
        *(int(getattr(report, name)) for name in BATCH_COUNTS),
        *(None for _ in EXECUTOR_COUNTS),
        sum(router.values()),
        router,
        report.duration_ms,
        *(report.phases_ms.get(phase) for phase in PHASES),
        report.input_rows_per_second,
        report.processed_rows_per_second,
        lag.total_offsets if lag is not None else None,
        dict(lag.offsets) if lag is not None and lag.offsets else None,
        lag.versions if lag is not None else None,
        newest,
        *_freshness(report.freshness),
        dict(report.tables) or None,
    )


def _executor_row(counts: ExecutorCounts) -> tuple[Any, ...]:
    return (
        counts.executor,
        counts.version,
        *(None for _ in BATCH_COUNTS),
        *(int(getattr(counts, name)) for name in EXECUTOR_COUNTS),
        counts.dead_lettered,
        dict(counts.dead_lettered_by_reason),
        *(None for _ in range(1 + len(PHASES) + 2 + 3)),
        counts.event_times.newest if counts.event_times is not None else None,
        *_freshness(counts.freshness),
        None,
    )


def metrics_rows(report: BatchReport, recorded_at: datetime) -> list[tuple[Any, ...]]:
    """``report`` as rows of :data:`METRICS_SCHEMA`: the batch row, then one per executor."""
    head = (
        report.pipeline,
        report.run_id,
        report.runtime,
        report.batch_id,
        report.chunk,
        recorded_at,
        report.committed_at,
    )
    return [
        (*head, *_batch_row(report)),
        *((*head, *_executor_row(e)) for e in report.executors),
    ]


@dataclass(frozen=True)
class DeltaMetrics(MetricsSink):
    """``observability.metrics: {kind: delta}``: the batch's rows appended to ``table``."""

    table: TableRef

    def emit(self, spark: SparkSession, report: BatchReport) -> None:
        """Append ``report``'s rows; a failure is logged as an error, never raised."""
        try:
            rows = metrics_rows(report, datetime.now(timezone.utc))
            frame = spark.createDataFrame(rows, METRICS_SCHEMA)
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
