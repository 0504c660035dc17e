"""Is an executor a deterministic function of its input? Run it several times on the same
sample, arranged differently each time, and compare the outputs row by row.

The arrangements are what differs between runtimes and between two runs of one runtime: the
number of partitions, the order of the rows, how events are split into micro-batches, and the
wall-clock time of the run. An executor that reads the clock (``current_timestamp()``), draws
random values (``rand()``, ``uuid()``), computes over the whole batch (a count or a window
without a key of the event) or takes ``first()`` without an order gives different output in one
of them; the report names the executor, the column and example rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from spark_enrich.columns import META
from spark_enrich.materialize import materialize, release
from spark_enrich.parity.fingerprint import compare_runs
from spark_enrich.parity.report import DiffReport

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from spark_enrich.pipeline import Pipeline

ROW = "_se_row"
"""The sample row an output row came from (the engine's ``_se_meta.row_id``)."""
LATER_SECONDS = 1.0
"""How long after the first run the second one starts: a clock read in whole seconds differs."""
_SHOWN = 3

Run = Callable[["DataFrame"], "DataFrame"]
"""Runs the executor on sample rows; returns its output rows, still carrying ``_se_meta``."""


@dataclass(frozen=True)
class Arrangement:
    """One way of presenting the sample: partitions, row order, micro-batches."""

    name: str
    partitions: int = 1
    descending: bool = False
    batches: bool = False
    later: bool = False


ARRANGEMENTS = (
    Arrangement("reversed row order, 1 s later", descending=True, later=True),
    Arrangement("3 partitions, hashed order", partitions=3),
    Arrangement("micro-batches of 1, 3, 8, 21, 55... rows", batches=True),
)
BASELINE = Arrangement("1 partition, rows in order")


@dataclass(frozen=True)
class Drift:
    """One arrangement whose output differs from the baseline's."""

    arrangement: str
    report: DiffReport

    @property
    def columns(self) -> list[str]:
        """The output columns that differ, most differences first."""
        ranked = sorted(self.report.fields.values(), key=lambda f: (-f.count, f.name))
        return [f.name for f in ranked]

    def describe(self, executor: str) -> list[str]:
        """What differs, for a person: each column with its count and example rows."""
        r = self.report
        lines = []
        for name in self.columns:
            f = r.fields[name]
            lines.append(
                f"executor {executor!r}: column {name!r} differs in {f.count} of {r.matched} "
                f"rows between '{BASELINE.name}' and '{self.arrangement}'"
            )
            for key, a, b in f.sample[:_SHOWN]:
                lines.append(f"    sample row {key.get(ROW)}: {a!r} vs {b!r}")
        if r.only_left or r.only_right:
            lines.append(
                f"executor {executor!r}: output rows differ between '{BASELINE.name}' and "
                f"'{self.arrangement}': {r.only_left} only in the first, {r.only_right} only "
                f"in the second (sample rows {[k.get(ROW) for k in r.only_left_keys[:_SHOWN]]}"
                f" / {[k.get(ROW) for k in r.only_right_keys[:_SHOWN]]})"
            )
        if r.duplicated_left != r.duplicated_right:
            lines.append(
                f"executor {executor!r}: sample rows with more than one output row: "
                f"{r.duplicated_left} vs {r.duplicated_right} in '{self.arrangement}'"
            )
        return lines


@dataclass(frozen=True)
class DeterminismReport:
    """The outcome of :func:`check_determinism` for one executor."""

    executor: str
    version: str
    rows: int
    output_rows: int
    drifts: tuple[Drift, ...] = ()

    @property
    def deterministic(self) -> bool:
        """Every arrangement gave the baseline's output."""
        return not self.drifts

    def render(self) -> list[str]:
        """One line when deterministic, else every differing column with examples."""
        head = (
            f"executor {self.executor} {self.version}: {self.rows} sample rows, "
            f"{self.output_rows} output rows, {1 + len(ARRANGEMENTS)} arrangements: "
        )
        if not self.rows:
            return [head + "NOT checked: the sample has no events of its types"]
        if self.deterministic:
            return [head + "deterministic"]
        lines = [head + "NOT deterministic"]
        for drift in self.drifts:
            lines.extend("  " + line for line in drift.describe(self.executor))
        return lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "executor": self.executor,
            "version": self.version,
            "deterministic": self.deterministic,
            "sample_rows": self.rows,
            "output_rows": self.output_rows,
            "drifts": [
                {
                    "arrangement": d.arrangement,
                    "columns": {name: d.report.fields[name].count for name in d.columns},
                    "only_first": d.report.only_left,
                    "only_second": d.report.only_right,
                    "messages": d.describe(self.executor),
                }
                for d in self.drifts
            ],
        }


def numbered(sample: DataFrame) -> DataFrame:
    """The sample, materialised once, with a ``_se_meta.row_id`` per row that stays the same
    in every arrangement (it is stored, not computed again)."""
    row_id = F.monotonically_increasing_id()
    if META in sample.columns:
        meta = F.col(META).withField("row_id", row_id)
    else:
        meta = F.struct(row_id.alias("row_id"))
    return materialize(sample.withColumn(META, meta))


def _arranged(sample: DataFrame, arrangement: Arrangement) -> DataFrame:
    row = F.col(f"{META}.row_id")
    if arrangement.partitions == 1:
        spread = sample.repartition(1)
        return spread.sortWithinPartitions(row.desc() if arrangement.descending else row)
    spread = sample.repartition(arrangement.partitions, row % arrangement.partitions)
    return spread.sortWithinPartitions(F.xxhash64(row))


def _batch_bounds(ids: list[int]) -> list[tuple[int, int]]:
    """The sorted row ids in consecutive runs of 1, 3, 8, 21, 55... (every other Fibonacci
    number), as inclusive ``(first id, last id)`` ranges."""
    bounds, start, size, after = [], 0, 1, 2
    while start < len(ids):
        end = min(len(ids), start + size)
        bounds.append((ids[start], ids[end - 1]))
        start, size, after = end, size + after, size + 2 * after
    return bounds


def _output(run: Run, rows: DataFrame, kept: list[DataFrame]) -> DataFrame:
    out = run(rows)
    columns = [F.col(f"`{c}`") for c in out.columns if c != META]
    stored = materialize(out.select(F.col(f"{META}.row_id").alias(ROW), *columns))
    kept.append(stored)
    return stored


def _run(run: Run, sample: DataFrame, arrangement: Arrangement, kept: list[DataFrame]) -> DataFrame:
    if not arrangement.batches:
        return _output(run, _arranged(sample, arrangement), kept)
    row = F.col(f"{META}.row_id")
    # A sample's row ids (not its rows) come to the driver, to cut it into batches.
    ids = sorted(r[0] for r in sample.select(row).collect())
    parts = [
        _output(run, sample.where(row.between(lo, hi)).repartition(1), kept)
        for lo, hi in _batch_bounds(ids)
    ]
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def check_determinism(
    run: Run,
    sample: DataFrame,
    *,
    executor: str,
    version: str = "",
    arrangements: Sequence[Arrangement] = ARRANGEMENTS,
) -> DeterminismReport:
    """Run an executor on ``sample`` in every arrangement and compare with the baseline.

    Args:
        run: runs the executor's stages (and, in a pipeline, the contract) on rows that carry
            ``_se_meta``; its output must carry ``_se_meta`` through, as every stage must.
        sample: decoded events of the executor's event types.
        executor: the executor's name, for the report.
        version: its version, for the report.
        arrangements: the arrangements compared with :data:`BASELINE`.

    Returns:
        The report: deterministic, or every differing column with example rows.
    """
    rows = numbered(sample)
    # Every stored output is freed at the end: a check of many executors must not fill memory.
    kept: list[DataFrame] = [rows]
    try:
        started = time.monotonic()
        baseline = _run(run, rows, BASELINE, kept)
        drifts = []
        for arrangement in arrangements:
            if arrangement.later:
                # The clock is read once per query; a second query a second later sees another.
                time.sleep(max(0.0, started + LATER_SECONDS - time.monotonic()))
            other = _run(run, rows, arrangement, kept)
            report = compare_runs(baseline, other, ROW, sample=_SHOWN)
            # Keys output twice in both (an executor multiplying rows) are not a drift here.
            changed = report.differing or report.only_left or report.only_right or report.schema
            if changed or report.duplicated_left != report.duplicated_right:
                drifts.append(Drift(arrangement.name, report))
        return DeterminismReport(executor, version, rows.count(), baseline.count(), tuple(drifts))
    finally:
        for frame in kept:
            release(frame)


def check_pipeline(
    pipeline: Pipeline,
    *,
    sample: int = 1000,
    executors: Sequence[str] = (),
    source: str | None = None,
) -> list[DeterminismReport]:
    """Check each executor of ``pipeline`` (or those named) on decoded events of the batch
    source: ``sample`` events are read once, and each executor gets those of its types, run
    through its stages and the output contract as a run would (:meth:`Pipeline.preview`).

    Raises:
        KeyError: a named executor is not in the pipeline.
    """
    from spark_enrich.columns import ERROR

    known = [b.name for b in pipeline.plan.executors]
    unknown = [name for name in executors if name not in known]
    if unknown:
        raise KeyError(f"executor(s) {unknown} not in pipeline {pipeline.config.name!r}: {known}")
    decoded = pipeline.decoded_sample(limit=sample, source=source)
    good = materialize(decoded.where(F.col(ERROR).isNull()).drop(ERROR))
    type_col = F.col(f"`{pipeline.config.decoding.event_type_field}`")
    reports = []
    try:
        for bound in pipeline.plan.executors:
            if executors and bound.name not in executors:
                continue
            rows = good.where(type_col.isin(list(bound.event_types)))

            def run(df: DataFrame, name: str = bound.name) -> DataFrame:
                return pipeline.preview(name, df, engine_columns=True)

            reports.append(check_determinism(run, rows, executor=bound.name, version=bound.version))
    finally:
        release(good)
    return reports
