"""Running the executors on a batch: their four stages with contract checks
(:mod:`spark_enrich.stages`), conforming, and poison-row isolation.

A row that makes an executor raise (an ANSI error, ``raise_error``, a failing UDF) fails the
whole Spark job. When that happens the engine narrows the failure down by re-running the
executor on halves of the batch until the failing rows are found
(:mod:`spark_enrich.isolation`), dead-letters them with reason ``executor_error`` and processes
the rest. It costs extra jobs only when something fails.

A failure that is not about the rows (a module missing on the workers, a lost executor, an
unreachable service: :mod:`spark_enrich.failures`) is never narrowed down: the batch fails at
once with ``INFRASTRUCTURE_ERROR`` and the real cause.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import reduce

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from spark_enrich.accounting import EventTimes
from spark_enrich.columns import ERROR, EXECUTOR_COL, EXECUTOR_VERSION_COL, META, Reason
from spark_enrich.errors import ExecutorContractError, PipelineRunError
from spark_enrich.failures import summary
from spark_enrich.isolation import MAX_POISON_ROWS, PoisonSearch, fail_if_not_about_rows, fails
from spark_enrich.materialize import materialize, release
from spark_enrich.sqltext import ident
from spark_enrich.stages import BoundExecutor, Conformance, apply_stages

__all__ = [
    "MAX_POISON_ROWS",
    "BoundExecutor",
    "Conformance",
    "ExecutorResult",
    "ExecutorRun",
    "apply_stages",
    "run_executor",
    "run_executors",
]

log = logging.getLogger(__name__)


@dataclass
class ExecutorResult:
    """One executor's output on one batch, cached, with its counts."""

    name: str
    version: str
    input: int
    filtered: int
    output: int
    dead_lettered: int
    conformed: DataFrame
    """Contract columns + ``_se_meta`` + ``_se_error`` (null on good rows); materialised."""
    poison: DataFrame | None = None
    """Input rows that made the executor raise, with ``_se_error`` set."""
    cached: list[DataFrame] = field(default_factory=list)
    outside_range: int = 0
    """Good rows outside :attr:`Conformance.scope`, left out of ``conformed``."""
    reasons: dict[str, int] = field(default_factory=dict)
    """``dead_lettered`` per reason."""
    event_times: EventTimes | None = None
    """The output rows' event times (:attr:`Conformance.event_time`)."""

    def release(self) -> None:
        for frame in self.cached:
            release(frame)


@dataclass
class _Planned:
    """One executor's conformed plan, with the observations its counts arrive in."""

    bound: BoundExecutor
    conformed: DataFrame
    kept_rows: Observation
    outcome: Observation

    def counts(self) -> tuple[int, int, int, int]:
        """(rows kept by the executor's stages, good rows, contract violations, good rows out
        of scope); complete once a job that computed ``conformed`` succeeded.

        Rows the later stages drop (an inner join in ``enrich``) were not kept: they count
        as filtered, like the filter's own. Rows they multiply are not hidden: the kept count
        stays the filter's and the accounting identity reports the surplus.
        """
        outcome = self.outcome.get
        after_filter = int(self.kept_rows.get["rows"])
        staged = int(outcome["ok"]) + int(outcome["bad"]) + int(outcome["outside"])
        return (
            min(after_filter, staged),
            int(outcome["ok"]),
            int(outcome["bad"]),
            int(outcome["outside"]),
        )

    def reasons(self) -> dict[str, int]:
        """Contract violations per reason."""
        outcome = self.outcome.get
        return {r.value: int(outcome[r.value]) for r in Reason if outcome[r.value]}

    def event_times(self) -> EventTimes | None:
        """The good rows' event times, when observed and there are any."""
        outcome = self.outcome.get
        newest, percentiles = outcome.get("newest"), outcome.get("percentiles")
        if newest is None or not percentiles:
            return None
        median, low = (_utc(micros) for micros in percentiles)
        return EventTimes(_utc(newest), median, low)


def _utc(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=timezone.utc)


def _event_time_columns(ok: Column, event_time: str | None) -> list[Column]:
    """The newest event time and its median and 1st percentile over the good rows, in
    microseconds since the epoch (approximate percentiles: one pass, bounded memory)."""
    if event_time is None:
        return []
    micros = F.when(ok, F.unix_micros(F.col(ident(event_time))))
    return [
        F.max(micros).alias("newest"),
        F.percentile_approx(micros, [0.5, 0.01]).alias("percentiles"),
    ]


def _plan(bound: BoundExecutor, routed: DataFrame, contract: Conformance) -> _Planned:
    # The rows kept by the filter and the conformed outcome are counted while the output is
    # computed, not by jobs of their own.
    kept_rows = Observation(f"{bound.name}-filter")
    outcome = Observation(f"{bound.name}-conform")
    _, normalised = apply_stages(
        bound, routed, tap=lambda df: df.observe(kept_rows, F.count(F.lit(1)).alias("rows"))
    )
    failed = F.col(ERROR).isNotNull()
    inside = (
        F.lit(True) if contract.scope is None else F.coalesce(F.expr(contract.scope), F.lit(False))
    )
    conformed = _slim(contract.apply(normalised, bound.name)).observe(
        outcome,
        F.count_if(~failed & inside).alias("ok"),
        F.count_if(failed).alias("bad"),
        F.count_if(~failed & ~inside).alias("outside"),
        *(F.count_if(F.col(f"{ERROR}.reason") == r.value).alias(r.value) for r in Reason),
        *_event_time_columns(~failed & inside, contract.event_time),
    )
    if contract.scope is not None:
        conformed = conformed.where(failed | inside)
    return _Planned(bound, conformed, kept_rows, outcome)


def _attempt(
    bound: BoundExecutor, routed: DataFrame, contract: Conformance
) -> tuple[_Planned, DataFrame]:
    planned = _plan(bound, routed, contract)
    # Materialising evaluates every column, so a failing expression raises here.
    return planned, materialize(planned.conformed)


def _slim(conformed: DataFrame) -> DataFrame:
    """Keep the raw payload, Kafka key and headers only on rows that become dead letters:
    output rows never need them, and they are most of a row's bytes."""
    bad = F.col(ERROR).isNotNull()
    meta = F.col(META)
    for name in ("raw", "kafka_key", "kafka_headers"):
        meta = meta.withField(name, F.when(bad, F.col(f"{META}.{name}")))
    return conformed.withColumn(META, meta)


def run_executor(
    bound: BoundExecutor,
    routed: DataFrame,
    contract: Conformance,
    *,
    input_rows: int,
) -> ExecutorResult:
    """Run one executor on its routed rows, isolating rows that make it raise.

    Raises:
        ExecutorContractError: the executor broke its contract.
        PipelineRunError: ``INFRASTRUCTURE_ERROR`` (or ``SERVICE_FAILED``) when the failure is
            not about the rows; ``EXECUTOR_FAILED`` when it does not depend on rows (it fails
            on an empty batch too, or on no row alone), when every row fails, or when more
            than :data:`MAX_POISON_ROWS` rows fail.
    """
    try:
        planned, conformed = _attempt(bound, routed, contract)
        kept, ok, bad, outside = planned.counts()
        return ExecutorResult(
            bound.name, bound.version, input_rows, input_rows - kept, ok, bad, conformed,
            cached=[conformed], outside_range=outside, reasons=planned.reasons(),
            event_times=planned.event_times(),
        )  # fmt: skip
    except ExecutorContractError:
        raise
    except Exception as exc:
        failure = exc
    fail_if_not_about_rows(failure, [bound.name])
    poison = _poison_rows(bound, routed, contract, failure, input_rows)
    row_id = F.col(f"{META}.row_id")
    ids = list(poison)
    try:
        planned, conformed = _attempt(bound, routed.where(~row_id.isin(ids)), contract)
    except ExecutorContractError:
        raise
    except Exception as exc:
        fail_if_not_about_rows(exc, [bound.name])
        raise
    n_poison = len(poison)
    kept, ok, bad, outside = planned.counts()
    reasons = planned.reasons()
    reasons[Reason.EXECUTOR_ERROR.value] = reasons.get(Reason.EXECUTOR_ERROR.value, 0) + n_poison
    return ExecutorResult(
        bound.name, bound.version, input_rows, input_rows - n_poison - kept, ok, bad + n_poison,
        conformed, poison=_poison_letters(routed, poison), cached=[conformed],
        outside_range=outside, reasons=reasons, event_times=planned.event_times(),
    )  # fmt: skip


def _poison_letters(routed: DataFrame, poison: dict[int, BaseException]) -> DataFrame:
    """The poison rows, each with reason ``executor_error`` and its own error's message."""
    row_id = F.col(f"{META}.row_id")
    messages = F.create_map(
        *[v for i, e in poison.items() for v in (F.lit(i).cast("bigint"), F.lit(summary(e)[:1000]))]
    )
    return routed.where(row_id.isin(list(poison))).withColumn(
        ERROR,
        F.struct(
            F.lit(Reason.EXECUTOR_ERROR.value).alias("reason"),
            F.element_at(messages, row_id).alias("message"),
        ),
    )


def _poison_rows(
    bound: BoundExecutor,
    routed: DataFrame,
    contract: Conformance,
    failure: Exception,
    input_rows: int,
) -> dict[int, BaseException]:
    """The poison rows of a batch the executor failed on: row id -> its own error.

    Raises:
        PipelineRunError: ``EXECUTOR_FAILED`` when the failure is not about some rows.
    """
    message = summary(failure)
    log.warning("executor %s failed on a batch (%s); isolating failing rows", bound.name, message)
    if fails(bound, routed.limit(0), contract) is not None:
        raise PipelineRunError(
            "EXECUTOR_FAILED",
            f"Executor {bound.name!r} fails even on an empty batch: {message}",
            {"executor": bound.name},
        ) from failure
    poison = PoisonSearch(bound, routed, contract).run()
    n_poison = len(poison)
    params = {"executor": bound.name, "isolated": n_poison, "input": input_rows}
    if not poison:
        raise PipelineRunError(
            "EXECUTOR_FAILED",
            f"Executor {bound.name!r} failed on its {input_rows} rows but on no row alone; "
            f"not a poison row but a broken executor: {message}",
            params,
        ) from failure
    if n_poison > MAX_POISON_ROWS:
        raise PipelineRunError(
            "EXECUTOR_FAILED",
            f"Executor {bound.name!r} failed on more than {MAX_POISON_ROWS} of its "
            f"{input_rows} rows (the search stopped at {n_poison}); not poison rows but a "
            f"broken executor: {message}",
            params,
        ) from failure
    # Every row of a batch failing is a broken executor, not poison: dead-lettering the whole
    # batch would hide a bad deploy. A single-row batch cannot tell the two apart.
    if n_poison == input_rows > 1:
        raise PipelineRunError(
            "EXECUTOR_FAILED",
            f"Executor {bound.name!r} failed on every one of its {input_rows} rows; not a "
            f"poison row but a broken executor: {message}",
            params,
        ) from failure
    return poison


def _with_executor(rows: DataFrame, bound: BoundExecutor) -> DataFrame:
    return rows.withColumns(
        {EXECUTOR_COL: F.lit(bound.name), EXECUTOR_VERSION_COL: F.lit(bound.version)}
    )


def _union(frames: Sequence[DataFrame]) -> DataFrame:
    return reduce(lambda a, b: a.unionByName(b), frames)


@dataclass
class ExecutorRun:
    """Every executor's result on one batch, in one shape however they ran."""

    results: list[ExecutorResult]
    """One per executor, in order: counts, contract violations, poison rows."""
    rows: DataFrame
    """Every executor's conformed rows (``_se_error`` set on violations), with the executor's
    name and version in :data:`EXECUTOR_COL` and :data:`EXECUTOR_VERSION_COL`."""

    def output(self) -> DataFrame:
        """The good rows of every executor."""
        return self.rows.where(F.col(ERROR).isNull())

    def release(self) -> None:
        """Free the cached frames of every result."""
        for result in self.results:
            result.release()


def run_executors(
    work: Sequence[tuple[BoundExecutor, DataFrame, int]], contract: Conformance
) -> ExecutorRun:
    """Run every executor on its routed rows (``(executor, rows, input row count)``), in one
    Spark job when they all succeed.

    A micro-batch pays every job's fixed cost, and one job lets Spark read and broadcast an
    enrichment table once for all executors instead of once each. When the joint job fails
    (a row makes some executor raise), each executor runs on its own, which finds the failing
    executor and isolates its rows exactly as :func:`run_executor` does.

    Raises:
        ExecutorContractError: an executor broke its contract.
        PipelineRunError: as :func:`run_executor`.
    """
    if len(work) > 1:
        joint = _run_jointly(work, contract)
        if joint is not None:
            return joint
    results: list[ExecutorResult] = []
    try:
        for bound, routed, input_rows in work:
            results.append(run_executor(bound, routed, contract, input_rows=input_rows))
    except BaseException:
        for result in results:
            result.release()
        raise
    rows = _union(
        [_with_executor(r.conformed, bound) for r, (bound, _, _) in zip(results, work, strict=True)]
    )
    return ExecutorRun(results, rows)


def _run_jointly(
    work: Sequence[tuple[BoundExecutor, DataFrame, int]], contract: Conformance
) -> ExecutorRun | None:
    """Every executor in one materialised frame; ``None`` when a row makes one of them raise.

    Raises:
        PipelineRunError: the failure is not about rows.
    """
    planned = [_plan(bound, routed, contract) for bound, routed, _ in work]
    try:
        joint = materialize(_union([_with_executor(p.conformed, p.bound) for p in planned]))
    except Exception as exc:
        fail_if_not_about_rows(exc, [bound.name for bound, _, _ in work])
        log.info("executors failed in their joint job (%s); running them one by one", summary(exc))
        return None
    results = []
    for p, (_, _, input_rows) in zip(planned, work, strict=True):
        kept, ok, bad, outside = p.counts()
        conformed = joint.where(F.col(EXECUTOR_COL) == p.bound.name).drop(
            EXECUTOR_COL, EXECUTOR_VERSION_COL
        )
        results.append(
            ExecutorResult(
                p.bound.name,
                p.bound.version,
                input=input_rows,
                filtered=input_rows - kept,
                output=ok,
                dead_lettered=bad,
                conformed=conformed,
                cached=[joint],
                outside_range=outside,
                reasons=p.reasons(),
                event_times=p.event_times(),
            )
        )
    return ExecutorRun(results, joint)
