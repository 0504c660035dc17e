"""Backfill: reprocess a date range of the batch source in chunks (a day by default) through
the same processing function, replacing exactly the affected output range (``replaceWhere``;
a ``sequence`` sink folds the range's events in instead).

Re-running a range gives the same table. Finished chunks are found in the sink's own Delta
history (each chunk's commit records its range and the config hash), so an interrupted backfill
resumes where it stopped without any state of its own; ``force`` redoes finished chunks.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from spark_enrich.accounting import RunReport
from spark_enrich.errors import PipelineRunError
from spark_enrich.policy import ReplaceRange
from spark_enrich.process import process_batch
from spark_enrich.sink import DateRange

if TYPE_CHECKING:
    from spark_enrich.accounting import BatchReport
    from spark_enrich.plan import CompiledPipeline
    from spark_enrich.sources import Source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chunk:
    """One ``[start, end)`` slice of a backfill."""

    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def chunks(start: date, end: date, size: timedelta) -> Iterator[Chunk]:
    """Split ``[start, end)`` into chunks of ``size`` (whole days, at least one)."""
    if end <= start:
        raise PipelineRunError(
            "BAD_RANGE", f"backfill range is empty: --from {start} must be before --to {end}", {}
        )
    step = timedelta(days=max(1, size.days))
    current = start
    while current < end:
        nxt = min(current + step, end)
        yield Chunk(current, nxt)
        current = nxt


def finished_chunks(plan: CompiledPipeline) -> set[str]:
    """Labels of chunks whose sink commit exists for this configuration."""
    try:
        history = plan.sink.table.history(plan.spark)
    except Exception:  # no table yet: nothing is finished
        return set()
    done = set()
    config_hash = plan.config.config_hash()
    for row in history.select("userMetadata").collect():
        try:
            meta = json.loads(row["userMetadata"] or "{}")
        except json.JSONDecodeError:
            continue
        if meta.get("config_hash") == config_hash and meta.get("chunk"):
            done.add(str(meta["chunk"]))
    return done


def replace_column(plan: CompiledPipeline) -> str:
    """The output column whose range a backfill replaces."""
    config = plan.config
    candidates = []
    if config.runtime.batch is not None:
        candidates.append(config.runtime.batch.date_column)
    candidates += list(config.sink.partition_by)
    for name in candidates:
        if name in plan.contract.names:
            return name
    raise PipelineRunError(
        "NO_DATE_COLUMN",
        f"Pipeline {config.name!r} cannot backfill: none of {candidates} is an output column, "
        "so the replaced range could not be expressed. Add the date column to output.columns.",
        {"candidates": candidates},
    )


class _Progress:
    """A progress bar with ETA on a terminal, one plain line per chunk otherwise."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.fancy = sys.stderr.isatty() if enabled is None else enabled
        self._bar = None
        if self.fancy:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("[bold]backfill[/] {task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeRemainingColumn(),
            )
            self._task = self._bar.add_task("", total=total)
            self._bar.start()

    def advance(self, chunk: Chunk, note: str) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"{chunk.label} {note}")
            return
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        print(
            f"backfill {self.done}/{self.total} {chunk.label} {note} "
            f"(elapsed {elapsed:.0f}s, eta {eta:.0f}s)",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def backfill(
    plan: CompiledPipeline,
    start: date,
    end: date,
    *,
    chunk_size: timedelta | None = None,
    force: bool = False,
    source: str | None = None,
    progress: bool | None = None,
    allow_empty: bool = False,
) -> RunReport:
    """Reprocess ``[start, end)`` chunk by chunk and replace exactly that range of the sink
    (a ``sequence`` sink folds the events in instead).

    Args:
        plan: the compiled pipeline.
        start: first day (inclusive).
        end: last day (exclusive).
        chunk_size: days per chunk (default ``runtime.batch.chunk``, else one day).
        force: redo chunks that already finished with this configuration.
        source: the source to read (default ``runtime.batch.source``). A table source is
            selected on its own ``date_column`` (else ``runtime.batch.date_column``); when that
            is not the output's date column, the read is widened by the source's
            ``backfill_lateness`` on both sides. A Kafka source is one chunk: a LogAppendTime
            topic is read by record timestamp widened by ``backfill_lateness``, a CreateTime
            topic (Kafka's default) whole. Events dated outside the range are then counted as
            ``outside_range`` and not written.
        progress: show a progress bar (default: when stderr is a terminal).
        allow_empty: replace days the sink holds rows for even when the source gives none
            for them; by default such a chunk fails with ``BACKFILL_WOULD_EMPTY`` and writes
            nothing.
    """
    config = plan.config
    batch_cfg = config.runtime.batch
    src = plan.source(source)
    column = replace_column(plan)
    size = chunk_size or (batch_cfg.chunk if batch_cfg else timedelta(days=1))
    plan_chunks = list(chunks(start, end, size)) if src.chunked else [Chunk(start, end)]
    done = set() if force else finished_chunks(plan)
    report = RunReport(config.name, plan.run_id)
    if plan.snapshots is not None:
        plan.snapshots.expire()  # a new run joins the tables as they are now
    bar = _Progress(len(plan_chunks), progress)
    try:
        for number, chunk in enumerate(plan_chunks):
            if chunk.label in done:
                bar.advance(chunk, "already done, skipped")
                continue
            batch = _run_chunk(plan, src, chunk, number, column=column, allow_empty=allow_empty)
            report.batches.append(batch)
            bar.advance(chunk, f"{batch.output} rows, {batch.dead_lettered} dead letters")
    finally:
        bar.close()
    return report


def _run_chunk(
    plan: CompiledPipeline,
    src: Source,
    chunk: Chunk,
    number: int,
    *,
    column: str,
    allow_empty: bool,
) -> BatchReport:
    # The source's own date (a record time, an ingest date) is not the output's: read a margin
    # around the range and leave output of other days to their own backfills. A Delta table is
    # read at its version when the chunk starts.
    read_started = time.perf_counter()
    envelope = src.read_batch(
        plan.spark,
        start=chunk.start,
        end=chunk.end,
        margin=src.backfill_margin(column),
        # A CreateTime topic is read whole: its record times say nothing of the events'.
        whole_if_unordered=True,
    )
    day = DateRange(column, chunk.start, chunk.end, allow_empty=allow_empty)
    policy = ReplaceRange(day, skip_outside_days=not src.dated_like_output(column))
    return process_batch(
        plan,
        envelope,
        batch_id=number,
        policy=policy,
        chunk=chunk.label,
        runtime="backfill",
        read_started=read_started,
    )
