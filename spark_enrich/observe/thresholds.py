"""``observability.thresholds`` checked against a pipeline's status: what is breached, and
what could not be checked (a threshold whose numbers the pipeline does not record)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spark_enrich.config.types import format_duration

if TYPE_CHECKING:
    from spark_enrich.config.models import Thresholds
    from spark_enrich.observe.history import BatchPoint
    from spark_enrich.observe.status import Breach, PipelineStatus


def _percent(share: float) -> str:
    return f"{share * 100:.2f} %"


def _staleness(limits: Thresholds, status: PipelineStatus) -> list[Breach]:
    from spark_enrich.observe.status import Breach

    if limits.max_staleness is None:
        return []
    limit = format_duration(limits.max_staleness)
    if status.last_commit_at is None:
        return [Breach("max_staleness", "the pipeline", limit, "nothing committed yet")]
    stale = status.checked_at - status.last_commit_at
    if stale <= limits.max_staleness:
        return []
    found = f"last commit {round(stale.total_seconds())} s ago"
    return [Breach("max_staleness", "the pipeline", limit, found)]


def _lag(limits: Thresholds, points: list[BatchPoint]) -> tuple[list[Breach], list[str]]:
    from spark_enrich.observe.status import Breach

    if limits.max_lag is None:
        return [], []
    measured = [p for p in points if p.lag is not None]
    if not measured:
        return [], ["max_lag: no batch in the metrics table records a source lag"]
    last = measured[-1]
    if last.lag is None or last.lag <= limits.max_lag:
        return [], []
    subject = f"run {last.run_id} batch {last.batch_id}"
    return [Breach("max_lag", subject, str(limits.max_lag), f"{last.lag} behind")], []


def _dead_letters(limits: Thresholds, status: PipelineStatus) -> list[Breach]:
    from spark_enrich.observe.status import Breach

    limit = limits.max_dead_letter_share
    if limit is None:
        return []
    found: list[Breach] = []
    if status.runs:
        run = status.runs[0]
        share = run.dead_letter_share
        if share is not None and share > limit:
            subject = f"the pipeline (run {run.run_id})"
            found.append(Breach("max_dead_letter_share", subject, _percent(limit), _percent(share)))
    for e in status.executors:
        share = e.dead_letter_share
        if share is not None and share > limit:
            subject = f"executor {e.executor} (run {e.run_id})"
            found.append(Breach("max_dead_letter_share", subject, _percent(limit), _percent(share)))
    return found


def check(
    limits: Thresholds, status: PipelineStatus, points: list[BatchPoint]
) -> tuple[list[Breach], list[str]]:
    """The breached thresholds, and the configured ones that could not be checked."""
    unchecked: list[str] = []
    needs_metrics = limits.max_lag is not None or limits.max_dead_letter_share is not None
    if needs_metrics and status.metrics_table is None:
        unchecked.append(
            "max_lag, max_dead_letter_share: no metrics table (observability.metrics has no "
            "`kind: delta` destination)"
        )
        return _staleness(limits, status), unchecked
    if limits.max_dead_letter_share is not None and not status.runs:
        unchecked.append("max_dead_letter_share: the metrics table holds no batch yet")
    lag_breaches, lag_unchecked = _lag(limits, points)
    breaches = [*_staleness(limits, status), *lag_breaches, *_dead_letters(limits, status)]
    return breaches, [*unchecked, *lag_unchecked]
