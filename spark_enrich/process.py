"""The one processing function: decoded envelope -> route -> executors -> conform -> sink and
dead letters. Streaming calls it once per micro-batch (``foreachBatch``); batch and backfill call
it once per chunk. There is no other path from input to output.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import reduce
from typing import TYPE_CHECKING

from pyspark.sql import Column, Observation
from pyspark.sql import functions as F

from spark_enrich import crashpoints
from spark_enrich.accounting import BatchReport, ExecutorCounts, SourceLag
from spark_enrich.columns import (
    ERROR,
    EXECUTOR_COL,
    EXECUTOR_VERSION_COL,
    INGESTED_AT_COL,
    META,
    RUN_ID_COL,
    SOURCE_COL,
    Reason,
)
from spark_enrich.deadletters import to_dead_letters
from spark_enrich.decode import decode
from spark_enrich.delta_commit import Txn
from spark_enrich.errors import PipelineRunError
from spark_enrich.executing import BoundExecutor, ExecutorRun, run_executors
from spark_enrich.materialize import materialize, release
from spark_enrich.metrics import NoMetrics
from spark_enrich.policy import NORMAL, BatchPolicy
from spark_enrich.sqltext import ident

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from spark_enrich.plan import CompiledPipeline
    from spark_enrich.sink import DateRange

log = logging.getLogger(__name__)


def _union(frames: list[DataFrame]) -> DataFrame | None:
    return reduce(lambda a, b: a.unionByName(b), frames) if frames else None


def _letters(
    plan: CompiledPipeline,
    rows: DataFrame,
    *,
    bound: BoundExecutor | None = None,
    event_type_column: str | None = None,
) -> DataFrame:
    return to_dead_letters(
        rows,
        pipeline=plan.name,
        run_id=plan.run_id,
        executor=bound.name if bound else None,
        executor_version=bound.version if bound else None,
        event_type_column=event_type_column,
    )


def _engine_metadata(plan: CompiledPipeline, rows: DataFrame) -> DataFrame:
    """Contract columns plus the metadata the engine adds after the executor (the executor's
    name and version: :attr:`~spark_enrich.executing.ExecutorRun.rows` carries them)."""
    return rows.select(
        *(F.col(ident(name)) for name in plan.contract.names),
        F.col(EXECUTOR_COL),
        F.col(EXECUTOR_VERSION_COL),
        F.col(f"{META}.source").alias(SOURCE_COL),
        F.current_timestamp().alias(INGESTED_AT_COL),
        F.lit(plan.run_id).alias(RUN_ID_COL),
    )


def _decode_counts(type_col: Column, handled: list[str], routed: Column) -> list[Column]:
    """Rows, decode dead letters per reason, decoded rows per handled event type, unrouted."""
    good = F.col(ERROR).isNull()
    return [
        F.count(F.lit(1)).alias("rows"),
        *(F.count_if(F.col(f"{ERROR}.reason") == r.value).alias(r.value) for r in Reason),
        *(F.count_if(good & (type_col == t)).alias(f"type:{t}") for t in handled),
        F.count_if(good & ~routed).alias("unrouted"),
    ]


def with_row_ids(envelope: DataFrame) -> DataFrame:
    """Number the rows of one batch (``_se_meta.row_id``): poison-row isolation and service
    calls use it. ``monotonically_increasing_id`` is batch-only, so this runs per batch; the
    ids are stable because the decoded batch is materialised before anything reads it twice."""
    return envelope.withColumn(
        META, F.col(META).withField("row_id", F.monotonically_increasing_id())
    )


@dataclass
class _Decoded:
    """A batch's decoded rows (materialised; ``_se_error`` set on decode dead letters), the
    observation counting them and the event types the executors handle."""

    rows: DataFrame
    counts: Observation
    handled: list[str]

    def good(self) -> DataFrame:
        return self.rows.where(F.col(ERROR).isNull()).drop(ERROR)


def process_batch(
    plan: CompiledPipeline,
    envelope: DataFrame,
    *,
    batch_id: int,
    txn: Txn | None = None,
    policy: BatchPolicy = NORMAL,
    chunk: str | None = None,
    runtime: str = "batch",
    read_started: float | None = None,
    arrivals_since: float | None = None,
    lag: SourceLag | None = None,
) -> BatchReport:
    """Process one batch of envelope rows end to end: decode and count, run the executors,
    gather the dead letters, write (as ``policy`` says).

    Args:
        plan: the compiled pipeline.
        envelope: ``_se_payload`` + ``_se_meta`` rows (see :mod:`spark_enrich.sources`).
        batch_id: the micro-batch id (streaming) or chunk number (batch, backfill).
        txn: makes the sink commit idempotent (streaming: one per batch id); dead letters are
            idempotent by their ids, and a retry of ``txn`` replaces those of its earlier
            attempt (see :meth:`spark_enrich.deadletters.DeadLetterTable.write`).
        policy: how the batch is conformed and written (:mod:`spark_enrich.policy`): append or
            merge, replace a date range, dry run, replay.
        chunk: a label for the report (the backfill range).
        runtime: ``stream``, ``batch`` or ``backfill``, for the metrics.
        read_started: ``perf_counter()`` when the caller began planning the read.
        arrivals_since: ``perf_counter()`` of the previous micro-batch's start (input rate).
        lag: the stream's source lag as Spark last reported it (streams only).

    Returns:
        The batch's accounting report (also emitted to the metrics sink).

    Raises:
        PipelineRunError: ``DEAD_LETTER_THRESHOLD`` when the dead-letter share exceeds the
            configured ``dead_letters.max_share`` (after the dead letters are written);
            ``BACKFILL_WOULD_EMPTY`` when a replaced range would empty days (nothing written).
    """
    report = BatchReport(plan.name, plan.run_id, batch_id, chunk=chunk, runtime=runtime, lag=lag)
    # The offline tables this batch joins, fixed before anything reads them.
    report.tables = plan.snapshots.refresh() if plan.snapshots is not None else {}
    started = time.perf_counter()
    if read_started is not None:
        report.phases_ms["read"] = round((started - read_started) * 1000)
    with report.timed("decode"):
        decoded = _decode(plan, policy.deliveries(plan.sink, envelope), batch_id)
    run: ExecutorRun | None = None
    try:
        by_type = _count(decoded, report)
        if arrivals_since is not None and started > arrivals_since:
            report.input_rows_per_second = report.source_rows / (started - arrivals_since)
        conformance = replace(policy.conformance(plan.contract), event_time=_event_time(plan))
        with report.timed("executors"):
            run = run_executors(_routed(plan, decoded, by_type), conformance)
        dead = _dead_letters(plan, decoded, run, report)
        report.check()
        if policy.writes:
            output = _engine_metadata(plan, run.output()).coalesce(write_tasks(report.output))
            _write(plan, report, output, dead, batch_id=batch_id, txn=txn, policy=policy)
        begun = started if read_started is None else read_started
        report.duration_ms = round((time.perf_counter() - begun) * 1000)
        if arrivals_since is None:  # a batch run's events were all there at its start
            report.input_rows_per_second = report.processed_rows_per_second
        plan.metrics.emit(plan.spark, report)
        return report
    finally:
        if run is not None:
            run.release()
        release(decoded.rows)


def _event_time(plan: CompiledPipeline) -> str | None:
    """The contract's event-time column (``decoding.event_time_field``, when the contract has
    it as a TIMESTAMP), observed for freshness; None when metrics are off."""
    if isinstance(plan.metrics, NoMetrics):
        return None
    name = plan.config.decoding.event_time_field
    column = next((c for c in plan.contract.columns if c.name == name), None)
    return name if column is not None and column.type.strip().lower() == "timestamp" else None


def _decode(plan: CompiledPipeline, envelope: DataFrame, batch_id: int) -> _Decoded:
    """Decode the batch, counted while it is materialised."""
    spec = plan.decode_spec
    handled = sorted({t for b in plan.executors for t in b.event_types})
    type_col = F.col(spec.event_type_field)
    routed_type = F.coalesce(type_col.isin(handled), F.lit(False))
    # Materialised, not persisted: a columnar cache of the decoded rows (nested metadata, raw
    # payloads) cost more to build than decoding itself (1M events: ~5 s more than this).
    # Counted while it is materialised, not by a job of its own: a micro-batch pays every
    # job's fixed cost.
    counts = Observation(f"decode-{batch_id}")
    rows = materialize(
        decode(with_row_ids(envelope), spec).observe(
            counts, *_decode_counts(type_col, handled, routed_type)
        )
    )
    return _Decoded(rows, counts, handled)


def _count(decoded: _Decoded, report: BatchReport) -> dict[str, int]:
    """Fill ``report``'s decode counts; the decoded rows per handled event type."""
    observed = decoded.counts.get
    report.source_rows = int(observed["rows"])
    report.decode_dead_lettered = {
        r.value: int(observed[r.value]) for r in Reason if observed[r.value]
    }
    by_type = {t: int(observed[f"type:{t}"]) for t in decoded.handled}
    report.routed = sum(by_type.values())
    report.unrouted = int(observed["unrouted"])
    return by_type


def _routed(
    plan: CompiledPipeline, decoded: _Decoded, by_type: dict[str, int]
) -> list[tuple[BoundExecutor, DataFrame, int]]:
    """Each executor with the good rows of its event types and their count."""
    good, type_col = decoded.good(), F.col(plan.decode_spec.event_type_field)
    return [
        (
            bound,
            good.where(type_col.isin(list(bound.event_types))),
            sum(by_type.get(t, 0) for t in bound.event_types),
        )
        for bound in plan.executors
    ]


def _dead_letters(
    plan: CompiledPipeline, decoded: _Decoded, run: ExecutorRun, report: BatchReport
) -> list[DataFrame]:
    """The batch's dead letters (decode, unrouted, contract violations, poison rows), with the
    executors' counts added to ``report``. Frames are built only where there are dead letters:
    building a plan costs driver time that a clean micro-batch should not pay."""
    event_type = plan.decode_spec.event_type_field
    type_col = F.col(event_type)
    dead: list[DataFrame] = []
    if report.decode_dead_lettered:
        bad = decoded.rows.where(F.col(ERROR).isNotNull())
        dead.append(_letters(plan, bad, event_type_column=event_type))
    if plan.config.decoding.unrouted == "dead_letter" and report.unrouted:
        routed = F.coalesce(type_col.isin(decoded.handled), F.lit(False))
        unrouted = decoded.rows.where(F.col(ERROR).isNull() & ~routed).withColumn(
            ERROR,
            F.struct(
                F.lit(Reason.UNKNOWN_EVENT_TYPE.value).alias("reason"),
                F.concat(
                    F.lit("no executor handles event type "), F.coalesce(type_col, F.lit("null"))
                ).alias("message"),
            ),
        )
        dead.append(_letters(plan, unrouted, event_type_column=event_type))
        report.unrouted_dead_lettered = report.unrouted
    contract_type = event_type if event_type in plan.contract.names else None
    for bound, result in zip(plan.executors, run.results, strict=True):
        report.executors.append(
            ExecutorCounts(
                bound.name,
                bound.version,
                result.input,
                result.filtered,
                result.output,
                result.dead_lettered,
                result.outside_range,
                dead_lettered_by_reason=result.reasons,
                event_times=result.event_times,
            )
        )
        if result.dead_lettered:
            violations = result.conformed.where(F.col(ERROR).isNotNull())
            dead.append(_letters(plan, violations, bound=bound, event_type_column=contract_type))
        if result.poison is not None:
            dead.append(_letters(plan, result.poison, bound=bound, event_type_column=event_type))
    return dead


ROWS_PER_WRITE_TASK = 100_000
"""Rows a sink or dead-letter write gives each task, at most (and so each file it adds to a
partition of the table)."""


def write_tasks(rows: int) -> int:
    """Tasks to write ``rows`` rows with: enough for :data:`ROWS_PER_WRITE_TASK` each.

    The rows to write arrive in as many partitions as the batch's input had, times the
    executors (their union): a micro-batch of ten events had six. Every write task opens a
    Parquet file per table partition it touches and pays a task's fixed cost, so ten rows
    became six files and six tasks (0.8-1.2 s of a 2-core machine's micro-batch, against
    0.3 s for one). ``coalesce`` only merges partitions, never splits them, and reads the
    materialised rows without a shuffle: a large batch keeps its parallelism.
    """
    return max(1, -(-rows // ROWS_PER_WRITE_TASK))


def _refuse_emptying(
    plan: CompiledPipeline, report: BatchReport, rows: DataFrame, replace: DateRange
) -> None:
    """Before anything is written: a backfill may not replace days the sink holds rows for
    with none (a source that lost them, a Kafka topic read wrongly) unless told to."""
    emptied = plan.sink.days_emptied(plan.spark, rows, replace, report.output)
    if not emptied:
        return
    held = ", ".join(f"{day} ({rows_held} rows)" for day, rows_held in sorted(emptied.items()))
    raise PipelineRunError(
        "BACKFILL_WOULD_EMPTY",
        f"Backfill {report.chunk or f'{replace.start}/{replace.end}'} of pipeline "
        f"{plan.name!r} would replace {held} in the sink with no rows: it read "
        f"{report.source_rows} source rows, giving {report.output} output rows in the range "
        "and none on these days. Nothing of this chunk was written. If the source really "
        "holds nothing for these days any more, run the backfill again with --allow-empty "
        "(allow_empty=True in Python).",
        {
            "days": [day.isoformat() for day in sorted(emptied)],
            "rows_held": {day.isoformat(): n for day, n in emptied.items()},
            "source_rows": report.source_rows,
        },
    )


def _write(
    plan: CompiledPipeline,
    report: BatchReport,
    output: DataFrame,
    dead: list[DataFrame],
    *,
    batch_id: int,
    txn: Txn | None,
    policy: BatchPolicy,
) -> None:
    """Write the dead letters, then (below the dead-letter threshold) the output to the sink."""
    spark, replace, sink = plan.spark, policy.replace, policy.sink(plan.sink)
    if replace is not None and not replace.allow_empty:
        _refuse_emptying(plan, report, output, replace)
    metadata = plan.commit_metadata(batch_id=batch_id, chunk=report.chunk)
    # A retried batch (a stream restarted after a crash) may come out differently from its
    # first attempt (a service that failed on a row now answers): each event must still end in
    # one place. Dead letters are committed before the sink, so a retry finds either the sink
    # commit of its first attempt — the batch is written: skip both writes, keep the first
    # outcome — or not: its dead letters replace the first attempt's, then its sink commit.
    # Neither look-up is made for a write known to be a first attempt (``Txn.may_be_retry``).
    earlier = txn if txn is not None and txn.may_be_retry else None
    retry = earlier is not None and plan.dead_letters.written_by(spark, earlier)
    if earlier is not None and (report.dead_lettered or retry) and sink.committed(spark, earlier):
        log.info(
            "batch %s of pipeline %r is in the sink already (%s): not written again",
            batch_id,
            plan.name,
            txn,
        )
        # Its store write may have failed after the commit: the store catches up.
        sink.publish_online(spark, output)
        return
    if report.dead_lettered or retry:
        with report.timed("dead_letters"):
            _write_dead_letters(plan, report, dead, metadata, txn=txn, retry=retry, policy=policy)
    _check_share(plan, report, batch_id, policy.max_share(plan.config.dead_letters.max_share))
    if report.output or replace is not None:
        with report.timed("sink"):
            report.sink_rows_added = sink.write(
                spark, output, txn=txn, user_metadata=metadata, replace=replace
            )
        report.mark_committed(datetime.now(timezone.utc))
        crashpoints.reached("after-sink")


def _write_dead_letters(
    plan: CompiledPipeline,
    report: BatchReport,
    dead: list[DataFrame],
    metadata: str,
    *,
    txn: Txn | None,
    retry: bool,
    policy: BatchPolicy,
) -> None:
    letters = _union(dead)
    # Only the failing rows, stored once: the MERGE would otherwise decode the batch again.
    letters = (
        materialize(letters.coalesce(write_tasks(report.dead_lettered)))
        if letters is not None
        else None
    )
    try:
        if letters is not None:
            policy.dead_letters_written(letters)
        report.dead_letters_written = plan.dead_letters.write(
            plan.spark, letters, user_metadata=metadata, txn=txn, supersede=retry
        )
    finally:
        if letters is not None:
            release(letters)
    crashpoints.reached("after-dead-letters")


def _check_share(
    plan: CompiledPipeline, report: BatchReport, batch_id: int, max_share: float | None
) -> None:
    """Fail the batch, before its sink write, when too large a share went to the dead letters."""
    if max_share is None or not report.source_rows:
        return
    share = report.dead_lettered / report.source_rows
    if share > max_share:
        raise PipelineRunError(
            "DEAD_LETTER_THRESHOLD",
            f"Batch {batch_id} of pipeline {plan.name!r}: {report.dead_lettered} of "
            f"{report.source_rows} events ({share:.1%}) went to the dead letters, more than "
            f"dead_letters.max_share = {max_share:.1%}. The dead letters are written; the "
            "sink is not. Inspect them (reason column) before resuming.",
            {"share": share, "max_share": max_share, "batch_id": batch_id},
        )
