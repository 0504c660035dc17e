"""``spark-enrich parity --from/--to``: recompute a date range from the batch source with the
current executors, writing nothing, and compare it with what the sink holds for that range,
executor by executor, engine metadata excluded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from spark_enrich.columns import ERROR, EXECUTOR_COL, META
from spark_enrich.errors import PipelineRunError
from spark_enrich.materialize import materialize, release
from spark_enrich.parity.diff import diff_frames
from spark_enrich.parity.report import DiffReport
from spark_enrich.sink import MergeSink, SequenceSink

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from spark_enrich.pipeline import Pipeline

SINK, RECOMPUTED = "sink", "recomputed"


@dataclass(frozen=True)
class ParityReport:
    """Per executor, the comparison of two outputs of the same events (``left`` and ``right``
    name the two sides: the sink and the recomputation, or the stream and the batch path)."""

    pipeline: str
    scope: str
    left: str
    right: str
    executors: dict[str, DiffReport]
    extra: dict[str, DiffReport] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        """Every comparison found the same records."""
        return all(r.equal for r in [*self.executors.values(), *self.extra.values()])

    def render(self) -> list[str]:
        """The summary and the field-level sample of each comparison, as text."""
        verdict = "equal" if self.equal else "DIFFERENT"
        lines = [f"pipeline {self.pipeline} {self.scope}: {self.left} vs {self.right}: {verdict}"]
        for title, report in [
            *((f"executor {name}", r) for name, r in self.executors.items()),
            *self.extra.items(),
        ]:
            lines.append(f"{title}:")
            lines.extend("  " + line for line in report.render(self.left, self.right))
        return lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "pipeline": self.pipeline,
            "scope": self.scope,
            "left": self.left,
            "right": self.right,
            "equal": self.equal,
            "executors": {name: r.to_dict() for name, r in self.executors.items()},
            **{name: r.to_dict() for name, r in self.extra.items()},
        }


def executor_outputs(pipeline: Pipeline, decoded: DataFrame) -> DataFrame:
    """What each executor of ``pipeline`` makes of decoded events: the contract columns that
    passed the contract, with ``_executor``. Nothing is written."""
    type_col = F.col(f"`{pipeline.config.decoding.event_type_field}`")
    good = decoded.where(F.col(ERROR).isNull()).drop(ERROR)
    frames = []
    for bound in pipeline.plan.executors:
        out = pipeline.preview(bound.name, good.where(type_col.isin(list(bound.event_types))))
        frames.append(
            out.where(F.col(ERROR).isNull())
            .drop(ERROR, META)
            .withColumn(EXECUTOR_COL, F.lit(bound.name))
        )
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def compare_by_executor(
    pipeline: Pipeline, left: DataFrame, right: DataFrame, *, sample: int = 10
) -> dict[str, DiffReport]:
    """Diff ``left`` and ``right`` (both with ``_executor``) on the output key, one executor at
    a time; rows of an executor the pipeline no longer has are compared under its name too."""
    names = [b.name for b in pipeline.plan.executors]
    # The recomputation is computed once, not once per executor and once for its names: its
    # plan (decode, every executor, their union) is also what Spark's optimizer would walk for
    # each filtered copy, for minutes on a wide output (constraint propagation over the union).
    right = materialize(right)
    try:
        others = {
            row[0]
            for frame in (left, right)
            for row in frame.select(EXECUTOR_COL).distinct().collect()  # a handful of names
        }
        key = list(pipeline.config.output.key)
        reports = {}
        for name in [*names, *sorted(n for n in others if n not in names and n is not None)]:
            mine = F.col(EXECUTOR_COL) == name
            reports[name] = diff_frames(left.where(mine), right.where(mine), key, sample=sample)
        return reports
    finally:
        release(right)


def _in_range(column: str, start: date, end: date) -> Column:
    day = F.col(f"`{column}`").cast("date")
    return (day >= F.lit(start)) & (day < F.lit(end))


def recompute_range(
    pipeline: Pipeline, start: date, end: date, *, source: str | None = None
) -> DataFrame:
    """The range's output as the current executors compute it from the batch source (the
    events a backfill of ``[start, end)`` would read), without writing anything."""
    from spark_enrich.decode import decode
    from spark_enrich.process import with_row_ids
    from spark_enrich.runtime.backfill import replace_column

    plan, config = pipeline.plan, pipeline.config
    src = plan.source(source)
    column = replace_column(plan)
    # As a backfill: a source dated otherwise than the output is read with a margin.
    envelope = src.read_batch(
        pipeline.spark,
        start=start,
        end=end,
        margin=src.backfill_margin(column),
        whole_if_unordered=True,
    )
    outputs = executor_outputs(pipeline, decode(with_row_ids(envelope), plan.decode_spec))
    outputs = outputs.where(_in_range(column, start, end))
    if isinstance(plan.sink, MergeSink):
        # A merge sink holds one row per key: the source's redeliveries collapse into it.
        outputs = outputs.dropDuplicates(list(config.output.key))
    return outputs


def parity_range(
    pipeline: Pipeline,
    start: date,
    end: date,
    *,
    source: str | None = None,
    sample: int = 10,
) -> ParityReport:
    """Compare what the sink holds for ``[start, end)`` with its recomputation.

    Raises:
        PipelineRunError: ``PARITY_UNSUPPORTED_SINK`` for a ``sequence`` sink (it holds one
            row per group, not per event); ``NO_DATE_COLUMN`` when the output has no date.
    """
    from spark_enrich.runtime.backfill import replace_column

    if isinstance(pipeline.plan.sink, SequenceSink):
        raise PipelineRunError(
            "PARITY_UNSUPPORTED_SINK",
            f"Pipeline {pipeline.config.name!r} writes sequences (one row per group), which "
            "cannot be compared event by event; check its source pipeline with parity, and "
            "its executors with check-executors.",
            {"pipeline": pipeline.config.name},
        )
    column = replace_column(pipeline.plan)
    held = pipeline.output().where(_in_range(column, start, end))
    recomputed = recompute_range(pipeline, start, end, source=source)
    return ParityReport(
        pipeline.config.name,
        f"[{start}, {end})",
        SINK,
        RECOMPUTED,
        compare_by_executor(pipeline, held, recomputed, sample=sample),
    )
