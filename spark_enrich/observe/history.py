"""The metrics table read back as plain records: one per batch and one per executor of it.

Two layouts are read, so a table that outlived an upgrade stays readable: one row per batch
with an ``executors`` array (the first layout), and one row per batch (``executor`` null) plus
one per executor of it. Columns a table does not have (lag, freshness, throughput in the first
layout) read as None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

BATCHES_READ = 2000
"""Newest batches read by ``status`` and ``report``: enough for charts, bounded on the driver."""


@dataclass(frozen=True)
class BatchPoint:
    """One batch (a micro-batch, a batch run, a backfill chunk) as the metrics table holds it."""

    run_id: str
    runtime: str
    batch_id: int
    chunk: str | None
    recorded_at: datetime
    source_rows: int = 0
    dead_lettered: int = 0
    """Every dead letter of the batch: decode, unrouted and the executors' own."""
    lag: int | None = None
    """Kafka offsets (all partitions) or Delta versions behind the source's latest."""
    freshness_ms: int | None = None
    """Commit time minus the newest event time written."""
    rows_per_second: float | None = None
    """Source rows processed per second of the batch's wall time."""
    duration_ms: int | None = None
    """The batch's wall time (its executors' throughput is their input over it)."""
    executors: dict[str, ExecutorPoint] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutorPoint:
    """One executor's counts in one batch."""

    executor: str
    version: str
    input: int
    filtered: int
    output: int
    dead_lettered: int
    freshness_ms: int | None = None


def _runtime(row: Mapping[str, Any]) -> str:
    """The runtime of a row; the first layout did not record it: a chunk says backfill, and
    the rest is a stream's micro-batch or a batch run, which it could not tell apart."""
    if row.get("runtime"):
        return str(row["runtime"])
    return "backfill" if row.get("chunk") else "stream|batch"


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _opt_int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _utc(moment: datetime) -> datetime:
    # Spark returns naive datetimes in the session time zone; the engine's sessions run in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _executor(row: Mapping[str, Any]) -> ExecutorPoint:
    return ExecutorPoint(
        executor=str(row["executor"]),
        version=str(row.get("version") or row.get("executor_version") or ""),
        input=_int(row.get("input")),
        filtered=_int(row.get("filtered")),
        output=_int(row.get("output")),
        dead_lettered=_int(row.get("dead_lettered")),
        freshness_ms=_opt_int(row.get("freshness_ms")),
    )


def _batch(row: Mapping[str, Any], executors: dict[str, ExecutorPoint]) -> BatchPoint:
    lag = row.get("lag_offsets")
    if lag is None:
        lag = row.get("lag_versions")
    own_letters = _int(row.get("dead_lettered"))
    if row.get("executors") is None:  # second layout: the batch row holds decode + unrouted
        own_letters += sum(e.dead_lettered for e in executors.values())
    return BatchPoint(
        run_id=str(row["run_id"]),
        runtime=_runtime(row),
        batch_id=_int(row.get("batch_id")),
        chunk=row.get("chunk"),
        recorded_at=_utc(row["recorded_at"]),
        source_rows=_int(row.get("source_rows")),
        dead_lettered=own_letters,
        lag=_opt_int(lag),
        freshness_ms=_opt_int(row.get("freshness_ms")),
        rows_per_second=row.get("processed_rows_per_second"),
        duration_ms=_opt_int(row.get("duration_ms")),
        executors=executors,
    )


def batches(rows: Iterable[Mapping[str, Any]]) -> list[BatchPoint]:
    """Metrics rows of either layout as batches with their executors, oldest first."""
    heads: dict[tuple[str, int, str | None], Mapping[str, Any]] = {}
    members: dict[tuple[str, int, str | None], dict[str, ExecutorPoint]] = {}
    for row in rows:
        key = (str(row["run_id"]), _int(row.get("batch_id")), row.get("chunk"))
        own = members.setdefault(key, {})
        if row.get("executor") is not None:
            point = _executor(row)
            own[point.executor] = point
            continue
        heads[key] = row
        for nested in row.get("executors") or ():  # first layout
            point = _executor(nested.asDict() if hasattr(nested, "asDict") else nested)
            own[point.executor] = point
    found = [_batch(head, members.get(key, {})) for key, head in heads.items()]
    return sorted(found, key=lambda b: (b.recorded_at, b.batch_id))


def read_batches(
    spark: SparkSession, path: str, pipeline: str, *, limit: int = BATCHES_READ
) -> list[BatchPoint]:
    """The newest ``limit`` batches of ``pipeline`` in the metrics table at ``path``, oldest
    first; none when there is no table yet. Two small Spark jobs: one finds the cut-off."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    if not DeltaTable.isDeltaTable(spark, path):
        return []
    table = spark.read.format("delta").load(path).where(F.col("pipeline") == pipeline)
    newest = (
        table.select("recorded_at").distinct().orderBy(F.col("recorded_at").desc()).limit(limit)
    )
    cutoff = newest.agg(F.min("recorded_at")).first()
    if cutoff is None or cutoff[0] is None:
        return []
    rows = table.where(F.col("recorded_at") >= cutoff[0]).collect()
    return batches(row.asDict() for row in rows)
