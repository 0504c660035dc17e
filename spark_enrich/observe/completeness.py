"""Completeness per day: is day D final?

A stream writes each day's events as they arrive; a backfill of the day recomputes it from the
archive and replaces it (``replaceWhere``). Every sink commit carries its run in its commit
metadata (``run_id``, and ``chunk`` for a backfill chunk), and every sink row its run
(``_run_id``), so the sink itself tells which rows a backfill wrote: the rows of the runs whose
commits name a chunk. Rows of every other run are the stream's (a ``run --batch`` counts with
them: it too is not a recomputation of whole days).

What the stream had written for a day before its first backfill replaced it is read from the
sink's version just before that commit (Delta time travel), so the two counts stay comparable
after the replacement. A day is *final* once a backfill wrote it and no other run wrote to it
since.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from spark_enrich.sqltext import ident

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from spark_enrich.tables import TableRef

DAYS_SHOWN = 7


@dataclass(frozen=True)
class DayCompleteness:
    """One day of the sink: what the stream wrote, what a backfill wrote."""

    day: date
    stream_rows: int
    """Rows the stream wrote for the day: before the day's first backfill if it had one."""
    backfill_rows: int | None
    """Rows the day's latest backfill wrote (None: never backfilled)."""
    late_rows: int
    """Rows the stream wrote to the day after its latest backfill."""
    backfilled_at: datetime | None

    @property
    def final(self) -> bool:
        """A backfill wrote the day and nothing was written to it since."""
        return self.backfill_rows is not None and self.late_rows == 0

    @property
    def missing_from_stream(self) -> int | None:
        """Backfill rows minus stream rows: events the stream did not write (negative: more
        than the archive holds, e.g. duplicates of an append sink)."""
        return None if self.backfill_rows is None else self.backfill_rows - self.stream_rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "stream_rows": self.stream_rows,
            "backfill_rows": self.backfill_rows,
            "late_rows": self.late_rows,
            "missing_from_stream": self.missing_from_stream,
            "backfilled_at": None if self.backfilled_at is None else self.backfilled_at.isoformat(),
            "final": self.final,
        }


@dataclass(frozen=True)
class _Backfill:
    version: int
    at: datetime
    days: tuple[date, ...]


def _chunk_days(chunk: str) -> tuple[date, ...]:
    start_text, _, end_text = chunk.partition("/")
    start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
    return tuple(start + timedelta(days=i) for i in range((end - start).days))


def _backfills(spark: SparkSession, table: TableRef) -> tuple[list[_Backfill], set[str]]:
    """The sink's backfill commits, oldest first, and the run ids of backfills."""
    commits: list[_Backfill] = []
    runs: set[str] = set()
    for row in table.history(spark).select("version", "timestamp", "userMetadata").collect():
        try:
            meta = json.loads(row["userMetadata"] or "{}")
        except json.JSONDecodeError:
            continue
        if not isinstance(meta, dict) or not meta.get("chunk"):
            continue
        if meta.get("run_id"):
            runs.add(str(meta["run_id"]))
        at = row["timestamp"]
        at = at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
        commits.append(_Backfill(int(row["version"]), at, _chunk_days(str(meta["chunk"]))))
    return sorted(commits, key=lambda c: c.version), runs


def _counts(
    frame: DataFrame, column: str, runs: set[str], since: date
) -> dict[tuple[date, bool], int]:
    """Rows per (day, written by a backfill) from ``since`` on: one aggregation."""
    from pyspark.sql import functions as F

    day = F.to_date(F.col(ident(column)))
    by_backfill = F.col("_run_id").isin(sorted(runs)) if runs else F.lit(False)
    grouped = (
        frame.where(day >= F.lit(since))
        .groupBy(day.alias("day"), by_backfill.alias("backfill"))
        .count()
    )
    return {(r["day"], bool(r["backfill"])): int(r["count"]) for r in grouped.collect()}


def completeness(
    spark: SparkSession, table: TableRef, column: str, *, days: int = DAYS_SHOWN
) -> list[DayCompleteness]:
    """The newest ``days`` days of the sink ``table`` (dated by ``column``), newest first.

    Costs one read of the sink's history, one aggregation of those days, and one more per
    backfill commit that first replaced one of them (read at the version before it).
    """
    from pyspark.sql import functions as F

    if not table.exists(spark):
        return []
    current = table.read(spark)
    newest = current.agg(F.max(F.to_date(F.col(ident(column))))).first()
    if newest is None or newest[0] is None:
        return []
    since: date = newest[0] - timedelta(days=days - 1)
    commits, runs = _backfills(spark, table)
    now = _counts(current, column, runs, since)
    first: dict[date, _Backfill] = {}
    latest: dict[date, _Backfill] = {}
    for commit in commits:
        for day in commit.days:
            if day >= since:
                first.setdefault(day, commit)
                latest[day] = commit
    before: dict[date, int] = {}
    for version in sorted({c.version for c in first.values()}):
        covered = {d for d, c in first.items() if c.version == version}
        if version == 0:
            continue  # the backfill created the table: the stream had written nothing before
        earlier = _counts(table.read(spark, version=version - 1), column, runs, since)
        before.update({d: n for (d, b), n in earlier.items() if d in covered and not b})
    shown = sorted({d for d, _ in now} | set(latest), reverse=True)
    return [
        DayCompleteness(
            day=d,
            stream_rows=before.get(d, 0) if d in first else now.get((d, False), 0),
            backfill_rows=now.get((d, True), 0) if d in latest else None,
            late_rows=now.get((d, False), 0) if d in latest else 0,
            backfilled_at=latest[d].at if d in latest else None,
        )
        for d in shown
    ]
