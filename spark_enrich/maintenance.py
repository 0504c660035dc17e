"""Table maintenance of a pipeline: compact the sink and dead-letter tables (``OPTIMIZE``), drop
sink rows older than ``sink.retention_days`` and ``VACUUM`` the files all of that leaves behind.

Example:
    >>> from spark_enrich.config import load_pipeline
    >>> config = load_pipeline("pipelines/demo.yaml")
    >>> for table in maintain(config, spark):                      # doctest: +SKIP
    ...     print(table.summary())
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import TYPE_CHECKING

from spark_enrich.delta_commit import with_conflict_retry
from spark_enrich.sqltext import ident
from spark_enrich.tables import TableRef

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import SparkSession

    from spark_enrich.config import PipelineConfig

__all__ = ["TableMaintenance", "maintain", "retention_column"]


@dataclass
class TableMaintenance:
    """What maintenance did to one table."""

    role: str
    """``sink`` or ``dead_letters``."""
    location: str
    exists: bool = True
    files_removed: int = 0
    """Small files that OPTIMIZE replaced..."""
    files_added: int = 0
    """...by this many compacted files."""
    rows_deleted: int = 0
    retention_column: str | None = None
    cutoff: date | None = None
    vacuumed: bool = False

    def summary(self) -> str:
        """One line for the command line."""
        if not self.exists:
            return f"{self.role} {self.location}: no table yet, nothing to do"
        parts = [f"optimize compacted {self.files_removed} files into {self.files_added}"]
        if self.cutoff is not None:
            parts.append(
                f"deleted {self.rows_deleted} rows with {self.retention_column} before "
                f"{self.cutoff.isoformat()}"
            )
        if self.vacuumed:
            parts.append("vacuumed")
        return f"{self.role} {self.location}: " + "; ".join(parts)


def retention_column(config: PipelineConfig) -> str:
    """The column that retention deletes by: the first date-typed partition column of the
    contract, else the contract's first date column, else the event-time field."""
    types = {c.name: str(c.type).strip().lower() for c in config.output.columns}
    for name in config.sink.partition_by:
        if types.get(name) == "date":
            return name
    for column in config.output.columns:
        if types[column.name] == "date":
            return column.name
    return config.decoding.event_time_field


def _optimize(target: DeltaTable, result: TableMaintenance) -> None:
    row = target.optimize().executeCompaction().select("metrics.*").first()
    if row is not None:
        result.files_removed = int(row["numFilesRemoved"] or 0)
        result.files_added = int(row["numFilesAdded"] or 0)


def maintain(
    config: PipelineConfig,
    spark: SparkSession,
    *,
    vacuum_hours: float | None = None,
    today: date | None = None,
) -> list[TableMaintenance]:
    """OPTIMIZE the sink and the dead-letter table, apply ``sink.retention_days``, VACUUM both.

    With ``sink.retention_days = N``, sink rows whose :func:`retention_column` is before
    ``today - N days`` are deleted. Both tables are then vacuumed (Delta's default retention of
    removed files, which bounds time travel, unless ``vacuum_hours`` is given). Tables that do
    not exist yet are skipped.

    Args:
        config: a validated pipeline configuration.
        spark: the session (with Delta Lake).
        vacuum_hours: keep removed files this many hours; Delta refuses values below its
            ``delta.deletedFileRetentionDuration`` unless its retention check is disabled.
        today: the day retention counts from (default: today in UTC).

    Returns:
        One :class:`TableMaintenance` per table: the sink, then the dead letters.
    """
    from pyspark.sql import functions as F

    results = []
    sink = config.sink
    letters = config.dead_letters
    for role, ref in (
        ("sink", TableRef.of(path=sink.path, table=sink.table)),
        ("dead_letters", TableRef.of(path=letters.path, table=letters.table)),
    ):
        result = TableMaintenance(role, ref.location)
        results.append(result)
        if not ref.exists(spark):
            result.exists = False
            continue
        target = ref.delta_table(spark)
        with_conflict_retry(partial(_optimize, target, result), what=f"optimize {role}")
        if role == "sink" and sink.retention_days is not None:
            today = today or datetime.now(timezone.utc).date()
            column = retention_column(config)
            cutoff = today - timedelta(days=sink.retention_days)
            old = F.col(ident(column)) < F.lit(cutoff)
            result.retention_column, result.cutoff = column, cutoff
            result.rows_deleted = target.toDF().where(old).count()
            if result.rows_deleted:
                with_conflict_retry(partial(target.delete, old), what="retention delete")
        # Every table leaves removed files behind, with or without retention: OPTIMIZE,
        # merges, sequence folds (which rewrite their users' rows every batch), deletes.
        # VACUUM commits too (its start and end), under the lock like every engine commit.
        if vacuum_hours is None:
            with_conflict_retry(target.vacuum, what="vacuum")
        else:
            with_conflict_retry(partial(target.vacuum, vacuum_hours), what="vacuum")
        result.vacuumed = True
    return results
