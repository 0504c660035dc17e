"""Batch policies: how one batch is conformed and written, chosen by the runtime that hands it to
:func:`~spark_enrich.process.process_batch`.

- :data:`NORMAL`: append or merge into the sink (batch runs).
- :data:`STREAMING`: a stream's micro-batch: as :data:`NORMAL`, except that with ``sink.dedup``
  the stream has dropped redeliveries already and appends (no MERGE per micro-batch).
- :class:`DryRun`: everything is computed and counted, nothing is written.
- :class:`ReplaceRange`: replace exactly a date range of the sink (backfills); output dated
  outside it is a contract violation, or, skipping outside days, left out and counted.
- :class:`Replay`: dead letters run again; insert-only, no dead-letter threshold, and the
  replay learns which events failed again.

Example:
    >>> from datetime import date
    >>> from spark_enrich.sink import DateRange
    >>> day = DateRange("event_date", date(2026, 1, 5), date(2026, 1, 6))
    >>> ReplaceRange(day, skip_outside_days=True).replace == day
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from spark_enrich.executing import Conformance

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from spark_enrich.conform import OutputContract
    from spark_enrich.sink import DateRange, DeltaSink


@dataclass(frozen=True)
class BatchPolicy:
    """Write the batch: append or merge, as the sink is configured."""

    writes: ClassVar[bool] = True
    """Whether anything is written (sink, dead letters, the emptied-days check)."""

    @property
    def replace(self) -> DateRange | None:
        """The date range of the sink this batch replaces, if any."""
        return None

    def conformance(self, contract: OutputContract) -> Conformance:
        """How executors' output is conformed under this policy."""
        return Conformance(contract)

    def max_share(self, configured: float | None) -> float | None:
        """The dead-letter share above which the batch fails (``dead_letters.max_share``)."""
        return configured

    def sink(self, sink: DeltaSink) -> DeltaSink:
        """The sink the batch is written to."""
        return sink

    def deliveries(self, sink: DeltaSink, envelope: DataFrame) -> DataFrame:
        """The envelope rows the batch processes: one delivery of each event id when the sink
        drops redeliveries (``sink.dedup``)."""
        return sink.without_redeliveries(envelope)

    def dead_letters_written(self, letters: DataFrame) -> None:
        """Called with the batch's dead letters as they are written (materialised)."""


NORMAL = BatchPolicy()
"""Append or merge, as configured: batch runs."""


@dataclass(frozen=True)
class Streaming(BatchPolicy):
    """A stream's micro-batch. With ``sink.dedup`` its redeliveries were dropped by the stream's
    state before ``foreachBatch`` (:meth:`~spark_enrich.sink.Redeliveries.in_stream`), and it is
    appended (:attr:`~spark_enrich.sink.DeltaSink.for_stream`) instead of merged."""

    def sink(self, sink: DeltaSink) -> DeltaSink:
        return sink.for_stream

    def deliveries(self, sink: DeltaSink, envelope: DataFrame) -> DataFrame:
        return envelope


STREAMING = Streaming()
"""Streaming micro-batches."""


@dataclass(frozen=True)
class DryRun(BatchPolicy):
    """Compute and count everything, write nothing (``--dry-run``)."""

    writes: ClassVar[bool] = False


@dataclass(frozen=True)
class ReplaceRange(BatchPolicy):
    """Replace exactly ``range`` of the sink (a ``sequence`` sink folds instead: a sequence spans
    dates). Days the sink holds rows for and this batch has none of are refused unless
    ``range.allow_empty``.

    By default output dated outside the range is a ``contract_violation`` dead letter; with
    ``skip_outside_days`` (a source read with a margin of other days around the range) it is
    left out and counted as ``outside_range``, and only a row without a date is a dead letter.
    """

    range: DateRange
    skip_outside_days: bool = False

    @property
    def replace(self) -> DateRange:
        return self.range

    def conformance(self, contract: OutputContract) -> Conformance:
        day = self.range
        if self.skip_outside_days:
            # A row without a date belongs to no day's backfill: a dead letter, not skipped.
            return Conformance(
                contract,
                (f"({day.predicate()}) IS NOT NULL", f"{day.column} is null"),
                scope=day.predicate(),
            )
        return Conformance(
            contract,
            (day.predicate(), f"{day.column} outside the backfill range [{day.start}, {day.end})"),
        )


@dataclass(frozen=True)
class Replay(BatchPolicy):
    """Dead letters run again (:mod:`spark_enrich.replay`).

    A replay inserts only keys the sink does not hold yet, in ``append`` mode too (a ``sequence``
    sink folds as always); ``dead_letters.max_share`` does not apply (a replay consists of
    known-bad events); ``on_dead_letters`` receives the events that fail again.
    """

    on_dead_letters: Callable[[DataFrame], None]

    def max_share(self, configured: float | None) -> float | None:
        return None

    def sink(self, sink: DeltaSink) -> DeltaSink:
        return sink.insert_only()

    def deliveries(self, sink: DeltaSink, envelope: DataFrame) -> DataFrame:
        return envelope  # dead letters: each stored once

    def dead_letters_written(self, letters: DataFrame) -> None:
        self.on_dead_letters(letters)
