"""Accounting: nothing is lost silently.

For every batch (a micro-batch, a backfill chunk or a batch run) the engine records, per
executor, ``input``, ``filtered``, ``output`` and ``dead_lettered`` (and ``outside_range``: output
of a Kafka backfill dated outside its range, which belongs to other days), and at the router the
decode dead letters and ``unrouted`` events; it checks the identities and logs a violation as
an error with the numbers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger("spark_enrich.accounting")


@dataclass(frozen=True)
class EventTimes:
    """Event times of a batch's output rows: the newest, the median and the 1st percentile
    (approximate, from ``percentile_approx``), observed while the rows are computed."""

    newest: datetime
    median: datetime
    oldest_percentile: datetime
    """The 1st percentile: 99 % of the rows are newer."""

    def freshness(self, committed_at: datetime) -> Freshness:
        """How old the rows were when committed at ``committed_at``."""

        def ms(t: datetime) -> int:
            return max(0, round((committed_at - t).total_seconds() * 1000))

        return Freshness(ms(self.newest), ms(self.median), ms(self.oldest_percentile))


@dataclass(frozen=True)
class Freshness:
    """Commit time minus event time, in milliseconds: of the newest row written (``newest_ms``),
    and the median and 99th percentile over the rows."""

    newest_ms: int
    p50_ms: int
    p99_ms: int


@dataclass(frozen=True)
class SourceLag:
    """How far a stream is behind its source, as Spark last reported it: Kafka offsets behind
    the latest per ``topic-partition``, or Delta versions behind the table's latest."""

    source: str
    offsets: dict[str, int] = field(default_factory=dict)
    versions: int | None = None

    @property
    def total_offsets(self) -> int | None:
        """Offsets behind over every partition (None for a Delta source)."""
        return sum(self.offsets.values()) if self.offsets or self.versions is None else None


@dataclass
class ExecutorCounts:
    """What happened to the events routed to one executor in one batch."""

    executor: str
    version: str
    input: int
    filtered: int
    output: int
    dead_lettered: int
    outside_range: int = 0
    """Output rows of a Kafka backfill dated outside its range: not written (they belong to
    the days the backfill does not replace)."""
    dead_lettered_by_reason: dict[str, int] = field(default_factory=dict)
    """``dead_lettered`` per reason code (``contract_violation``, ``executor_error``...)."""
    event_times: EventTimes | None = None
    """The event times of the output rows (None: no output, or no event-time column)."""
    freshness: Freshness | None = None
    """Commit time minus the output's event times; set once the batch is committed."""

    @property
    def balanced(self) -> bool:
        """``input = output + filtered + dead_lettered + outside_range``."""
        return self.input == (self.output + self.filtered + self.dead_lettered + self.outside_range)


@dataclass
class BatchReport:
    """Counts and outcome of one batch through the pipeline."""

    pipeline: str
    run_id: str
    batch_id: int
    source_rows: int = 0
    decode_dead_lettered: dict[str, int] = field(default_factory=dict)
    routed: int = 0
    unrouted: int = 0
    unrouted_dead_lettered: int = 0
    executors: list[ExecutorCounts] = field(default_factory=list)
    sink_rows_added: int = 0
    """Rows the sink commit added; for a ``sequence`` sink, sequences inserted or updated."""
    dead_letters_written: int = 0
    """Rows the dead-letter commit inserted (0 on an idempotent re-run of the batch)."""
    chunk: str | None = None
    tables: dict[str, int] = field(default_factory=dict)
    """Offline table -> the Delta version of the snapshot the batch joined."""
    runtime: str = "batch"
    """``stream``, ``batch`` or ``backfill``: the same metrics, told apart."""
    phases_ms: dict[str, int] = field(default_factory=dict)
    """Wall time per phase: ``read`` (planning the source read; the bytes are read while
    decoding, in the same Spark job), ``decode``, ``executors``, ``dead_letters``, ``sink``."""
    duration_ms: int = 0
    """Wall time of the whole batch, from its read to its last write."""
    input_rows_per_second: float | None = None
    """Source rows per second of wall time since the previous batch started (streams; a batch
    run: as processed)."""
    lag: SourceLag | None = None
    """How far behind its source the stream was as this batch was recorded (streams only)."""
    committed_at: datetime | None = None
    """When the sink commit finished (None: nothing written)."""

    @property
    def processed_rows_per_second(self) -> float | None:
        """Source rows per second of the batch's own wall time."""
        return self.source_rows * 1000 / self.duration_ms if self.duration_ms else None

    @property
    def freshness(self) -> Freshness | None:
        """Commit time minus the newest event time written over every executor (p50 and p99:
        the worst executor's; exact percentiles over the union are not observed)."""
        found = [e.freshness for e in self.executors if e.freshness is not None]
        if not found:
            return None
        return Freshness(
            min(f.newest_ms for f in found),
            max(f.p50_ms for f in found),
            max(f.p99_ms for f in found),
        )

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the wall time of the ``with`` block to ``phases_ms[phase]``."""
        began = time.perf_counter()
        try:
            yield
        finally:
            spent = round((time.perf_counter() - began) * 1000)
            self.phases_ms[phase] = self.phases_ms.get(phase, 0) + spent

    def mark_committed(self, at: datetime) -> None:
        """Record the commit time and each executor's freshness at it."""
        self.committed_at = at
        for e in self.executors:
            if e.event_times is not None:
                e.freshness = e.event_times.freshness(at)

    @property
    def output(self) -> int:
        return sum(e.output for e in self.executors)

    @property
    def filtered(self) -> int:
        return sum(e.filtered for e in self.executors)

    @property
    def outside_range(self) -> int:
        return sum(e.outside_range for e in self.executors)

    @property
    def dead_lettered(self) -> int:
        return (
            sum(self.decode_dead_lettered.values())
            + self.unrouted_dead_lettered
            + sum(e.dead_lettered for e in self.executors)
        )

    def violations(self) -> list[str]:
        """Every accounting identity that does not hold, as a readable sentence."""
        problems = [
            f"executor {e.executor}: input {e.input} != output {e.output} + filtered "
            f"{e.filtered} + dead_lettered {e.dead_lettered}"
            + (f" + outside_range {e.outside_range}" if e.outside_range else "")
            for e in self.executors
            if not e.balanced
        ]
        decoded_bad = sum(self.decode_dead_lettered.values())
        if self.source_rows != decoded_bad + self.routed + self.unrouted:
            problems.append(
                f"router: source rows {self.source_rows} != decode dead letters {decoded_bad} + "
                f"routed {self.routed} + unrouted {self.unrouted}"
            )
        return problems

    def check(self) -> bool:
        """Log every violated identity as an error; return whether all hold."""
        problems = self.violations()
        for problem in problems:
            log.error(
                "accounting violation in %s batch %s: %s", self.pipeline, self.batch_id, problem
            )
        return not problems

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            output=self.output,
            filtered=self.filtered,
            dead_lettered=self.dead_lettered,
            outside_range=self.outside_range,
            processed_rows_per_second=self.processed_rows_per_second,
        )
        if self.lag is not None:
            data["lag"]["total_offsets"] = self.lag.total_offsets
        return data

    def to_json(self) -> str:
        """The report as one JSON object (times in ISO 8601)."""
        return json.dumps(self.to_dict(), sort_keys=True, default=_iso)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_TOTALLED = (
    "source_rows",
    "routed",
    "unrouted",
    "unrouted_dead_lettered",
    "sink_rows_added",
    "dead_letters_written",
    "output",
    "filtered",
    "dead_lettered",
    "outside_range",
)
"""The per-batch counts a run keeps totals of when it stops listing its oldest batches."""


@dataclass
class RunReport:
    """The batches of one run, and their totals.

    A stream runs for months: it lists its latest batches only (:meth:`add` with ``keep``)
    and folds older ones into running totals, so :meth:`total` and :meth:`by_executor` still
    cover the whole run while the driver's memory stays bounded.
    """

    pipeline: str
    run_id: str
    batches: list[BatchReport] = field(default_factory=list)
    folded: int = 0
    """Batches no longer listed in :attr:`batches`, counted in the totals."""
    _folded_totals: dict[str, int] = field(default_factory=dict, repr=False)
    _folded_executors: list[ExecutorCounts] = field(default_factory=list, repr=False)
    _folded_decode: dict[str, int] = field(default_factory=dict, repr=False)

    def add(self, batch: BatchReport, *, keep: int | None = None) -> None:
        """List ``batch``; beyond ``keep`` listed batches, fold the oldest into the totals."""
        self.batches.append(batch)
        while keep is not None and len(self.batches) > keep:
            oldest = self.batches.pop(0)
            for attribute in _TOTALLED:
                value = int(getattr(oldest, attribute))
                self._folded_totals[attribute] = self._folded_totals.get(attribute, 0) + value
            for reason, count in oldest.decode_dead_lettered.items():
                self._folded_decode[reason] = self._folded_decode.get(reason, 0) + count
            self._folded_executors.extend(oldest.executors)
            self._folded_executors[:] = self.by_executor(listed=False).values()
            self.folded += 1

    def total(self, attribute: str) -> int:
        """Sum of a per-batch count (``output``, ``filtered``, ``sink_rows_added``, ...) over
        the whole run."""
        listed = sum(int(getattr(b, attribute)) for b in self.batches)
        if self.folded and attribute not in _TOTALLED:
            raise KeyError(f"{attribute!r} is not totalled over folded batches: {_TOTALLED}")
        return self._folded_totals.get(attribute, 0) + listed

    @property
    def batch_count(self) -> int:
        """Batches of the run, listed or folded."""
        return self.folded + len(self.batches)

    def decode_dead_lettered(self) -> dict[str, int]:
        """Decode dead letters per reason over the whole run."""
        totals = dict(self._folded_decode)
        for batch in self.batches:
            for reason, count in batch.decode_dead_lettered.items():
                totals[reason] = totals.get(reason, 0) + count
        return totals

    def by_executor(self, *, listed: bool = True) -> dict[str, ExecutorCounts]:
        """Per-executor counts summed over the run's batches."""
        totals: dict[str, ExecutorCounts] = {}
        groups = [self._folded_executors, *(b.executors for b in self.batches if listed)]
        for group in groups:
            for counts in group:
                t = totals.setdefault(
                    counts.executor, ExecutorCounts(counts.executor, counts.version, 0, 0, 0, 0)
                )
                t.input += counts.input
                t.filtered += counts.filtered
                t.output += counts.output
                t.dead_lettered += counts.dead_lettered
                t.outside_range += counts.outside_range
        return totals
