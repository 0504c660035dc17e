"""Running one executor on a batch: its four stages with contract checks, conforming, and
poison-row isolation.

A row that makes an executor raise (an ANSI error, ``raise_error``, a failing UDF) fails the
whole Spark job. When that happens the engine narrows the failure down by re-running the
executor on halves of the batch until the failing rows are found, dead-letters them with reason
``executor_error`` and processes the rest. It costs extra jobs only when something fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from spark_enrich.columns import ERROR, EXECUTOR_COL, EXECUTOR_VERSION_COL, META, Reason
from spark_enrich.conform import OutputContract, conform
from spark_enrich.errors import ExecutorContractError, PipelineRunError
from spark_enrich.executor import Executor
from spark_enrich.materialize import materialize, release

if TYPE_CHECKING:
    from spark_enrich.context import EnrichContext

log = logging.getLogger(__name__)

MAX_POISON_ROWS = 64
"""More failing rows than this in one batch is an executor bug, not poison: the batch fails."""


@dataclass
class BoundExecutor:
    """An executor instance with the context the engine built for it."""

    executor: Executor
    context: EnrichContext

    @property
    def name(self) -> str:
        return self.executor.spec.name

    @property
    def version(self) -> str:
        return self.executor.spec.version

    @property
    def event_types(self) -> tuple[str, ...]:
        return self.executor.spec.event_types


def _check_stage(name: str, stage: str, result: object, before: DataFrame) -> DataFrame:
    if not isinstance(result, DataFrame):
        raise ExecutorContractError(
            "STAGE_RETURNED_NON_DATAFRAME",
            f"Executor {name!r} stage {stage!r} returned {type(result).__name__}, not a "
            "DataFrame. Every stage must return the transformed DataFrame.",
            {"executor": name, "stage": stage, "found": type(result).__name__},
        )
    if META in before.columns and META not in result.columns:
        raise ExecutorContractError(
            "ENGINE_COLUMN_DROPPED",
            f"Executor {name!r} stage {stage!r} dropped the engine column {META!r}. Add and "
            "drop your own columns by name instead of selecting a fixed list; the engine "
            "projects to the output contract itself.",
            {"executor": name, "stage": stage},
        )
    return result


def apply_stages(
    bound: BoundExecutor,
    df: DataFrame,
    *,
    tap: Callable[[DataFrame], DataFrame] | None = None,
) -> tuple[DataFrame, DataFrame]:
    """Run filter, then featurise, enrich and normalise; ``tap`` wraps the filter's output.

    Returns:
        ``(after_filter, after_normalise)``.

    Raises:
        ExecutorContractError: a stage returned something else than a DataFrame, dropped the
            engine's column, or failed while Spark analysed it (``STAGE_FAILED``: a bug such
            as a misspelt column, which no row can be blamed for).
    """
    ex = bound.executor
    steps = [
        ("filter", ex.filter),
        ("featurise", ex.featurise),
        ("enrich", lambda d: ex.enrich(d, bound.context)),
        ("normalise", ex.normalise),
    ]
    current = df
    after_filter = df
    for stage, fn in steps:
        try:
            result = fn(current)
        except ExecutorContractError:
            raise
        except Exception as exc:
            raise ExecutorContractError(
                "STAGE_FAILED",
                f"Executor {bound.name!r} stage {stage!r} failed while building its plan: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                {"executor": bound.name, "stage": stage},
            ) from exc
        current = _check_stage(bound.name, stage, result, current)
        if stage == "filter":
            after_filter = current = tap(current) if tap else current
    return after_filter, current


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

    def release(self) -> None:
        for frame in self.cached:
            release(frame)


@dataclass(frozen=True)
class Conformance:
    """How an executor's output is conformed: the contract and an optional extra row check."""

    contract: OutputContract
    constraint: tuple[str, str] | None = None
    """(SQL condition, message): see :func:`spark_enrich.conform.conform`."""
    scope: str | None = None
    """SQL condition on the contract columns: good rows failing it are not this run's output
    (a Kafka backfill reads a margin around its range); they are left out and counted."""

    def apply(self, df: DataFrame, executor: str) -> DataFrame:
        return conform(df, self.contract, executor=executor, constraint=self.constraint)


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
    )
    if contract.scope is not None:
        conformed = conformed.where(failed | inside)
    return _Planned(bound, conformed, kept_rows, outcome)


def _attempt(
    bound: BoundExecutor, routed: DataFrame, contract: Conformance
) -> tuple[int, DataFrame, int, int, int]:
    planned = _plan(bound, routed, contract)
    # Materialising evaluates every column, so a failing expression raises here.
    conformed = materialize(planned.conformed)
    kept, ok, bad, outside = planned.counts()
    return kept, conformed, ok, bad, outside


def _slim(conformed: DataFrame) -> DataFrame:
    """Keep the raw payload, Kafka key and headers only on rows that become dead letters:
    output rows never need them, and they are most of a row's bytes."""
    bad = F.col(ERROR).isNotNull()
    meta = F.col(META)
    for name in ("raw", "kafka_key", "kafka_headers"):
        meta = meta.withField(name, F.when(bad, F.col(f"{META}.{name}")))
    return conformed.withColumn(META, meta)


def _fails(bound: BoundExecutor, rows: DataFrame, contract: Conformance) -> bool:
    after_filter, normalised = apply_stages(bound, rows)
    try:
        after_filter.count()
        contract.apply(normalised, bound.name).write.format("noop").mode("overwrite").save()
    except ExecutorContractError:
        raise
    except Exception:
        return True
    return False


def _find_poison(
    bound: BoundExecutor, rows: DataFrame, contract: Conformance, depth: int = 0
) -> list[int]:
    row_id = F.col(f"{META}.row_id")
    ids = [int(r[0]) for r in rows.select(row_id).limit(2).collect()]
    if len(ids) <= 1:
        return ids
    half = F.abs(F.xxhash64(row_id, F.lit(depth))) % 2 == 0
    found: list[int] = []
    for part in (rows.where(half), rows.where(~half)):
        if _fails(bound, part, contract):
            found += _find_poison(bound, part, contract, depth + 1)
            if len(found) > MAX_POISON_ROWS:
                break
    return found


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
        PipelineRunError: ``EXECUTOR_FAILED`` when the failure does not depend on rows (it
            fails on an empty batch too) or more than :data:`MAX_POISON_ROWS` rows fail.
    """
    try:
        kept, conformed, ok, bad, outside = _attempt(bound, routed, contract)
        return ExecutorResult(
            bound.name, bound.version, input_rows, input_rows - kept, ok, bad, conformed,
            cached=[conformed], outside_range=outside,
        )  # fmt: skip
    except ExecutorContractError:
        raise
    except Exception as exc:
        failure = exc
    message = f"{type(failure).__name__}: {_first_line(failure)}"
    log.warning("executor %s failed on a batch (%s); isolating failing rows", bound.name, message)
    if _fails(bound, routed.limit(0), contract):
        raise PipelineRunError(
            "EXECUTOR_FAILED",
            f"Executor {bound.name!r} fails even on an empty batch: {message}",
            {"executor": bound.name},
        ) from failure
    poison_ids = _find_poison(bound, routed, contract)
    # Every row of a batch failing is a broken executor, not poison: dead-lettering the whole
    # batch would hide a bad deploy. A single-row batch cannot tell the two apart.
    every_row = len(poison_ids) == input_rows > 1
    if not poison_ids or len(poison_ids) > MAX_POISON_ROWS or every_row:
        raise PipelineRunError(
            "EXECUTOR_FAILED",
            f"Executor {bound.name!r} failed and {len(poison_ids)} of its {input_rows} rows "
            f"fail (limit {MAX_POISON_ROWS}, and not all of them); not a poison row but a "
            f"broken executor: {message}",
            {"executor": bound.name, "isolated": len(poison_ids), "input": input_rows},
        ) from failure
    row_id = F.col(f"{META}.row_id")
    rest = routed.where(~row_id.isin(poison_ids))
    kept, conformed, ok, bad, outside = _attempt(bound, rest, contract)
    poison = routed.where(row_id.isin(poison_ids)).withColumn(
        ERROR,
        F.struct(
            F.lit(Reason.EXECUTOR_ERROR.value).alias("reason"),
            F.lit(message[:1000]).alias("message"),
        ),
    )
    n_poison = len(poison_ids)
    return ExecutorResult(
        bound.name,
        bound.version,
        input_rows,
        input_rows - n_poison - kept,
        ok,
        bad + n_poison,
        conformed,
        poison=poison,
        cached=[conformed],
        outside_range=outside,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else ""


@dataclass
class ExecutorRun:
    """Every executor's result on one batch."""

    results: list[ExecutorResult]
    joint: DataFrame | None = None
    """When the executors ran together: all their conformed rows in one materialised frame,
    with the executor's name and version in :data:`EXECUTOR_COL` and
    :data:`EXECUTOR_VERSION_COL`; the sink reads it once instead of once per executor.
    Released with the results."""


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
        planned = [_plan(bound, routed, contract) for bound, routed, _ in work]
        try:
            joint = materialize(
                reduce(
                    lambda a, b: a.unionByName(b),
                    (
                        p.conformed.withColumns(
                            {
                                EXECUTOR_COL: F.lit(p.bound.name),
                                EXECUTOR_VERSION_COL: F.lit(p.bound.version),
                            }
                        )
                        for p in planned
                    ),
                )
            )
        except Exception as exc:
            log.info("executors failed in their joint job (%s); running them one by one", exc)
        else:
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
                    )
                )
            return ExecutorRun(results, joint)
    results = []
    try:
        for bound, routed, input_rows in work:
            results.append(run_executor(bound, routed, contract, input_rows=input_rows))
    except BaseException:
        for result in results:
            result.release()
        raise
    return ExecutorRun(results)
