"""Replay: run dead letters through the current pipeline again, after a fix.

A replay selects the pipeline's dead letters that were never replayed (optionally one reason
only, or those dead-lettered since a time), rebuilds each event's envelope from the stored raw
payload, Kafka key, headers and source coordinates, and hands it to
:func:`~spark_enrich.process.process_batch` — the same function streaming and batch use. Then
it marks the dead-letter rows whose event no longer fails (``replayed_at``, ``replay_run_id``)
with a Delta MERGE. Nothing is ever deleted.

The rules:

- An event is re-run once per replay even when several dead-letter rows describe it.
- Successes reach the sink like any other batch, except that a replay inserts only keys the
  sink does not hold yet, in ``append`` mode too: a replay stopped between its sink commit and
  its marking leaves its dead letters unmarked, and the next replay re-runs their events.
- An event that fails again keeps its dead-letter rows unmarked, so they stay visible and the
  next replay selects them again. When it fails for another reason or in another executor
  than before, that failure is a new dead-letter row (with the replay's ``run_id``); the same
  failure again adds no row (dead-letter ids are stable).
- An event that the current pipeline filters out, or counts as unrouted, is marked: it was
  processed without failing.
- ``dead_letters.max_share`` does not apply: a replay consists of known-bad events, and a
  high share of them failing again must not keep the others out of the sink.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

from pyspark.sql import Column
from pyspark.sql import functions as F

from spark_enrich.columns import HEADERS_TYPE, META
from spark_enrich.deadletters import DeadLetterTable
from spark_enrich.decode import PAYLOAD
from spark_enrich.delta_commit import commit_settings, with_conflict_retry
from spark_enrich.materialize import materialize, release
from spark_enrich.policy import Replay
from spark_enrich.sqltext import literal

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from spark_enrich.accounting import BatchReport
    from spark_enrich.plan import CompiledPipeline

_KEY = "_se_event_key"


@dataclass
class ReplayReport:
    """What one replay did."""

    pipeline: str
    replay_run_id: str
    selected: int = 0
    """Dead-letter rows selected (not replayed before, matching the filters)."""
    events: int = 0
    """Distinct events re-run (several rows may describe one event)."""
    replayed: int = 0
    """Dead-letter rows marked as replayed: their event no longer fails."""
    failed_again: int = 0
    """Dead-letter rows left unmarked: their event failed again."""
    batch: BatchReport | None = None
    """The accounting of the re-run (``None`` when nothing was selected)."""


def event_key(source: Column, raw: Column) -> Column:
    """Identifies one input event: its source coordinates and its raw bytes."""
    return F.sha2(F.concat_ws("|", F.to_json(source), F.coalesce(F.sha2(raw, 256), F.lit(""))), 256)


def _as_utc(since: date) -> datetime:
    if not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day)
    return since if since.tzinfo is not None else since.replace(tzinfo=timezone.utc)


def pending(
    spark: SparkSession,
    table: DeadLetterTable,
    *,
    pipeline: str,
    reason: str | None = None,
    since: date | None = None,
) -> DataFrame:
    """The pipeline's dead letters not replayed yet, read at the table's current version.

    Args:
        reason: only this reason code.
        since: only rows dead-lettered at or after this time (a date means its midnight; a
            naive datetime is UTC).
    """
    table.ensure(spark)
    version = table.table.version(spark)
    rows = table.table.read(spark, version=version if version >= 0 else None)
    rows = rows.where((F.col("pipeline") == pipeline) & F.col("replayed_at").isNull())
    if reason is not None:
        rows = rows.where(F.col("reason") == reason)
    if since is not None:
        rows = rows.where(F.col("dead_lettered_at") >= F.lit(_as_utc(since)))
    return rows


def envelope_of(letters: DataFrame) -> DataFrame:
    """The envelope of dead-letter rows, as their source first produced it."""
    meta = F.struct(
        F.lit(None).cast("bigint").alias("row_id"),
        F.col("raw_payload").alias("raw"),
        F.col("kafka_key").alias("kafka_key"),
        F.col("kafka_headers").cast(HEADERS_TYPE).alias("kafka_headers"),
        F.col("source").alias("source"),
    )
    return letters.select(F.col("raw_payload").cast("string").alias(PAYLOAD), meta.alias(META))


class _FailedAgain:
    """Remembers, as a replay's dead letters are written, which events failed again."""

    def __init__(self) -> None:
        self.frames: list[DataFrame] = []

    def __call__(self, letters: DataFrame) -> None:
        keys = letters.select(event_key(F.col("source"), F.col("raw_payload")).alias(_KEY))
        self.frames.append(materialize(keys.distinct()))

    def left_out_of(self, letters: DataFrame) -> DataFrame:
        """The dead-letter rows whose event did not fail again."""
        for keys in self.frames:
            letters = letters.join(keys, _KEY, "left_anti")
        return letters


def replay(
    plan: CompiledPipeline, *, reason: str | None = None, since: date | None = None
) -> ReplayReport:
    """Re-run the pipeline's unreplayed dead letters and mark those that now succeed.

    Args:
        plan: the compiled pipeline, with the fixed executors.
        reason: replay only dead letters with this reason code.
        since: replay only dead letters written at or after this time.

    Returns:
        The counts of the replay and the accounting of its batch.

    Raises:
        PipelineRunError: as :func:`~spark_enrich.process.process_batch` (an executor that
            fails on every replayed row, for example); nothing is marked then.

    Example:
        >>> report = replay(pipeline.plan, reason="executor_error")  # doctest: +SKIP
        >>> report.replayed, report.failed_again  # doctest: +SKIP
        (1, 0)
    """
    from spark_enrich.process import process_batch

    spark = plan.spark
    run_id = uuid.uuid4().hex[:12]
    report = ReplayReport(plan.name, run_id)
    if plan.snapshots is not None:
        plan.snapshots.expire()  # a new run joins the tables as they are now
    letters = pending(spark, plan.dead_letters, pipeline=plan.name, reason=reason, since=since)
    letters = letters.withColumn(_KEY, event_key(F.col("source"), F.col("raw_payload")))
    letters = materialize(letters)
    failed = _FailedAgain()
    stored = [letters]
    try:
        report.selected = letters.count()
        if not report.selected:
            return report
        # Materialised: row ids are numbered per batch, and a shuffled input recomputed (a
        # cache miss, Delta's MERGE source) would number its rows differently.
        events = materialize(letters.dropDuplicates([_KEY]))
        stored.append(events)
        report.events = events.count()

        # The same plan, under the replay's run id (its dead letters and commits carry it).
        replaying = dataclasses.replace(plan, run_id=run_id)
        report.batch = process_batch(
            replaying, envelope_of(events), batch_id=0, policy=Replay(failed), chunk="replay"
        )
        succeeded = failed.left_out_of(letters)
        ids = materialize(succeeded.select("dead_letter_id").distinct())
        stored.append(ids)
        report.replayed = succeeded.count()
        report.failed_again = report.selected - report.replayed
        if report.replayed:
            _mark(plan, ids, run_id)
        return report
    finally:
        # Replays run repeatedly in notebooks: free the blocks now, not at the driver's next GC.
        for frame in [*stored, *failed.frames]:
            release(frame)


def _mark(plan: CompiledPipeline, ids: DataFrame, run_id: str) -> None:
    spark, table = plan.spark, plan.dead_letters
    target = table.table.delta_table(spark)
    metadata = plan.commit_metadata(replay_run_id=run_id, operation="replay-mark")

    def merge() -> None:
        with commit_settings(spark, txn=None, user_metadata=metadata):
            (
                target.alias("t")
                .merge(
                    ids.alias("s"),
                    "t.dead_letter_id = s.dead_letter_id AND t.replayed_at IS NULL AND "
                    f"t.pipeline = {literal(plan.name)}",
                )
                .whenMatchedUpdate(
                    set={"replayed_at": "current_timestamp()", "replay_run_id": literal(run_id)}
                )
                .execute()
            )

    with_conflict_retry(merge, what="dead-letter replay mark")
