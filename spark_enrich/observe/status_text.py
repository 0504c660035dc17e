"""A :class:`~spark_enrich.observe.status.PipelineStatus` as JSON-ready data and as text."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spark_enrich.observe.completeness import DayCompleteness
    from spark_enrich.observe.status import PipelineStatus


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(0, round((now - moment).total_seconds()))
    for unit, size, below in (("s", 1, 120), ("m", 60, 7200), ("h", 3600, 172800)):
        if seconds < below:
            return f"{seconds // size}{unit} ago"
    return f"{seconds // 86400}d ago"


def _verdict(day: DayCompleteness) -> str:
    if day.final:
        return "final"
    return "not final: " + (
        "rows written since the backfill" if day.backfill_rows is not None else "no backfill yet"
    )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _opt(value: object, unit: str = "") -> str:
    return "-" if value is None else f"{value}{unit}"


def status_dict(status: PipelineStatus) -> dict[str, Any]:
    """Everything ``status --format json`` prints."""
    return {
        "pipeline": status.pipeline,
        "checked_at": _iso(status.checked_at),
        "healthy": status.healthy,
        "metrics_table": status.metrics_table,
        "last_commit_at": _iso(status.last_commit_at),
        "stream": None if status.stream is None else status.stream.to_dict(),
        "runs": [
            {
                "run_id": r.run_id,
                "runtime": r.runtime,
                "batches": r.batches,
                "first_recorded_at": _iso(r.first_at),
                "last_recorded_at": _iso(r.last_at),
                "source_rows": r.source_rows,
                "dead_lettered": r.dead_lettered,
                "dead_letter_share": r.dead_letter_share,
                "lag": r.lag,
                "freshness_ms": r.freshness_ms,
                "rows_per_second": r.rows_per_second,
            }
            for r in status.runs
        ],
        "executors": [
            {
                "executor": e.executor,
                "version": e.version,
                "run_id": e.run_id,
                "runtime": e.runtime,
                "batches": e.batches,
                "input": e.input,
                "filtered": e.filtered,
                "output": e.output,
                "dead_lettered": e.dead_lettered,
                "dead_letter_share": e.dead_letter_share,
                "last_recorded_at": _iso(e.last_recorded_at),
                "freshness_ms": e.freshness_ms,
            }
            for e in status.executors
        ],
        "completeness": [d.to_dict() for d in status.days],
        "breaches": [
            {"threshold": b.threshold, "subject": b.subject, "limit": b.limit, "found": b.found}
            for b in status.breaches
        ],
        "unchecked": status.unchecked,
    }


def _stream_line(status: PipelineStatus) -> str:
    stream, now = status.stream, status.checked_at
    if stream is None:
        return "stream: no runtime.stream"
    alive = {
        True: "running",
        False: "not running",
        None: "unknown (checkpoint not on a local disk)",
    }
    line = (
        f"stream: {alive[stream.held]}; last committed micro-batch "
        f"{_opt(stream.last_committed)} ({_ago(stream.committed_at, now)})"
    )
    if stream.in_flight:
        line += f"; micro-batch {stream.last_started} started {_ago(stream.started_at, now)}"
    return line


def status_lines(status: PipelineStatus) -> list[str]:
    """The text of ``status``: health, stream, runs, executors, completeness, thresholds."""
    now = status.checked_at
    lines = [
        f"pipeline {status.pipeline}: {'healthy' if status.healthy else 'UNHEALTHY'} "
        f"(last commit {_ago(status.last_commit_at, now)})",
        _stream_line(status),
    ]
    if status.metrics_table is None:
        lines.append("metrics: no metrics table (observability.metrics has no `kind: delta`)")
    lines.append("runs (newest first):")
    lines += [
        f"  {r.run_id} {r.runtime:<8} {r.batches:>5} batch(es), last {_ago(r.last_at, now)}: "
        f"{r.source_rows} events, dead letters {_share(r.dead_letter_share)}, "
        f"lag {_opt(r.lag)}, freshness {_opt(r.freshness_ms, ' ms')}, "
        f"{_opt(None if r.rows_per_second is None else round(r.rows_per_second), ' events/s')}"
        for r in status.runs
    ] or ["  none recorded"]
    lines.append("executors (their latest run):")
    lines += [
        f"  {e.executor:<14} {e.runtime:<8} input {e.input:>9}  output {e.output:>9}  "
        f"filtered {e.filtered:>8}  dead-lettered {e.dead_lettered:>6} "
        f"({_share(e.dead_letter_share)}), last {_ago(e.last_recorded_at, now)}"
        for e in status.executors
    ] or ["  none recorded"]
    if status.days:
        lines.append("completeness per day (stream vs backfill rows):")
        lines += [
            f"  {d.day.isoformat()}  stream {d.stream_rows:>9}  backfill "
            f"{_opt(d.backfill_rows):>9}  late {d.late_rows:>6}  " + _verdict(d)
            for d in status.days
        ]
    lines += [f"BREACHED {b.describe()}" for b in status.breaches]
    lines += [f"unchecked {u}" for u in status.unchecked]
    return lines
