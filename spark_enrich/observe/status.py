"""``spark-enrich status``: how a pipeline is doing, from its metrics table, its checkpoint and
its sink, checked against ``observability.thresholds``.

Example:
    >>> from spark_enrich.observe.status import pipeline_status   # doctest: +SKIP
    >>> status = pipeline_status(config, spark)                    # doctest: +SKIP
    >>> status.healthy, [b.describe() for b in status.breaches]    # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from spark_enrich.observe.completeness import DAYS_SHOWN, DayCompleteness, completeness
from spark_enrich.observe.history import BatchPoint, read_batches
from spark_enrich.observe.liveness import CheckpointProgress, checkpoint_progress
from spark_enrich.tables import TableRef

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_enrich.config import PipelineConfig

RUNS_SHOWN = 5


def _share(dead: int, total: int) -> float | None:
    return dead / total if total else None


@dataclass(frozen=True)
class ExecutorStatus:
    """One executor over its latest run."""

    executor: str
    version: str
    run_id: str
    runtime: str
    batches: int
    input: int
    filtered: int
    output: int
    dead_lettered: int
    last_recorded_at: datetime
    freshness_ms: int | None

    @property
    def dead_letter_share(self) -> float | None:
        """Dead letters per input event (None without input)."""
        return _share(self.dead_lettered, self.input)


@dataclass(frozen=True)
class RunStatus:
    """One run (a stream, a batch run, a backfill): totals, and its latest batch's gauges."""

    run_id: str
    runtime: str
    batches: int
    first_at: datetime
    last_at: datetime
    source_rows: int
    dead_lettered: int
    lag: int | None
    freshness_ms: int | None
    rows_per_second: float | None

    @property
    def dead_letter_share(self) -> float | None:
        """Dead letters (decode, unrouted, executors) per source row."""
        return _share(self.dead_lettered, self.source_rows)


@dataclass(frozen=True)
class Breach:
    """A threshold the pipeline is past."""

    threshold: str
    subject: str
    limit: str
    found: str

    def describe(self) -> str:
        return f"{self.threshold} breached by {self.subject}: {self.found} (limit {self.limit})"


@dataclass(frozen=True)
class PipelineStatus:
    """What ``spark-enrich status`` shows; :attr:`healthy` decides its exit code."""

    pipeline: str
    checked_at: datetime
    metrics_table: str | None
    runs: list[RunStatus]
    executors: list[ExecutorStatus]
    stream: CheckpointProgress | None
    last_commit_at: datetime | None
    days: list[DayCompleteness]
    breaches: list[Breach] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """No threshold is breached."""
        return not self.breaches

    def to_dict(self) -> dict[str, Any]:
        from spark_enrich.observe.status_text import status_dict

        return status_dict(self)

    def render(self) -> list[str]:
        from spark_enrich.observe.status_text import status_lines

        return status_lines(self)


def _runs(points: list[BatchPoint]) -> list[RunStatus]:
    """The newest runs first, each from its batches (oldest first in ``points``)."""
    grouped: dict[str, list[BatchPoint]] = {}
    for point in points:
        grouped.setdefault(point.run_id, []).append(point)
    runs = []
    for run_id, batches in grouped.items():
        last = batches[-1]
        runs.append(
            RunStatus(
                run_id=run_id,
                runtime=last.runtime,
                batches=len(batches),
                first_at=batches[0].recorded_at,
                last_at=last.recorded_at,
                source_rows=sum(b.source_rows for b in batches),
                dead_lettered=sum(b.dead_lettered for b in batches),
                lag=last.lag,
                freshness_ms=last.freshness_ms,
                rows_per_second=last.rows_per_second,
            )
        )
    return sorted(runs, key=lambda r: r.last_at, reverse=True)


def _executors(points: list[BatchPoint]) -> list[ExecutorStatus]:
    """Each executor over the latest run that ran it."""
    latest: dict[str, str] = {}
    for point in points:  # oldest first: the last run seen is the newest
        for name in point.executors:
            latest[name] = point.run_id
    found = []
    for name, run_id in sorted(latest.items()):
        own = [(p, p.executors[name]) for p in points if p.run_id == run_id and name in p.executors]
        last_point, last = own[-1]
        found.append(
            ExecutorStatus(
                executor=name,
                version=last.version,
                run_id=run_id,
                runtime=last_point.runtime,
                batches=len(own),
                input=sum(e.input for _, e in own),
                filtered=sum(e.filtered for _, e in own),
                output=sum(e.output for _, e in own),
                dead_lettered=sum(e.dead_lettered for _, e in own),
                last_recorded_at=last_point.recorded_at,
                freshness_ms=last.freshness_ms,
            )
        )
    return found


def metrics_table_path(config: PipelineConfig) -> str | None:
    """The path of the pipeline's Delta metrics table; None when metrics go elsewhere."""
    from spark_enrich.config import models

    section: Any = config.observability.metrics
    for destination in section if isinstance(section, list) else [section]:
        if isinstance(destination, models.DeltaMetrics):
            return str(destination.path)
    return None


def _sink_last_commit(spark: SparkSession, table: TableRef) -> datetime | None:
    if not table.exists(spark):
        return None
    rows = table.history(spark, 1).select("timestamp").collect()
    if not rows:
        return None
    at: datetime = rows[0]["timestamp"]
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


def completeness_column(config: PipelineConfig) -> str | None:
    """The sink's date column completeness counts by (what a backfill replaces); None for a
    ``sequence`` sink (one row per user, not per event) or a pipeline without one."""
    if config.sink.mode == "sequence":
        return None
    names = {c.name for c in config.output.columns}
    candidates = [config.runtime.batch.date_column] if config.runtime.batch is not None else []
    candidates += list(config.sink.partition_by)
    return next((c for c in candidates if c in names), None)


def pipeline_status(
    config: PipelineConfig,
    spark: SparkSession,
    *,
    days: int = DAYS_SHOWN,
    now: datetime | None = None,
) -> PipelineStatus:
    """Read the metrics table, the checkpoint and the sink of ``config``'s pipeline and check
    its thresholds. Reads only; a handful of small Spark jobs."""
    from spark_enrich.observe.thresholds import check

    checked_at = now or datetime.now(timezone.utc)
    metrics = metrics_table_path(config)
    points = [] if metrics is None else read_batches(spark, metrics, config.name)
    stream = None
    if config.runtime.stream is not None and config.runtime.stream.checkpoint:
        stream = checkpoint_progress(spark, str(config.runtime.stream.checkpoint))
    sink = TableRef.of(path=config.sink.path, table=config.sink.table)
    commits = [
        points[-1].recorded_at if points else None,
        stream.committed_at if stream is not None else None,
        _sink_last_commit(spark, sink),
    ]
    column = completeness_column(config)
    status = PipelineStatus(
        pipeline=config.name,
        checked_at=checked_at,
        metrics_table=metrics,
        runs=_runs(points)[:RUNS_SHOWN],
        executors=_executors(points),
        stream=stream,
        last_commit_at=max((c for c in commits if c is not None), default=None),
        days=[] if column is None else completeness(spark, sink, column, days=days),
    )
    breaches, unchecked = check(config.observability.thresholds, status, points)
    return replace(status, breaches=breaches, unchecked=unchecked)


def age(moment: datetime | None, now: datetime) -> timedelta | None:
    """How long ago ``moment`` was."""
    return None if moment is None else now - moment
