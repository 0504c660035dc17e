"""Running one executor on a batch: its four stages with contract checks, conforming, and
poison-row isolation.

A row that makes an executor raise (an ANSI error, ``raise_error``, a failing UDF) fails the
whole Spark job. When that happens the engine narrows the failure down by re-running the
executor on halves of the batch until the failing rows are found, dead-letters them with reason
``executor_error`` and processes the rest. It costs extra jobs only when something fails.

A failure that is not about the rows (a module missing on the workers, a lost executor, an
unreachable service: :mod:`spark_enrich.failures`) is never narrowed down: the batch fails at
once with ``INFRASTRUCTURE_ERROR`` and the real cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING

import numpy as np
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from spark_enrich.columns import ERROR, EXECUTOR_COL, EXECUTOR_VERSION_COL, META, Reason
from spark_enrich.conform import OutputContract, conform
from spark_enrich.errors import ExecutorContractError, PipelineRunError
from spark_enrich.executor import Executor
from spark_enrich.failures import not_about_rows, summary
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
    outputs: dict[str, DataFrame] | None = None,
) -> tuple[DataFrame, DataFrame]:
    """Run filter, then featurise, enrich and normalise; ``tap`` wraps the filter's output;
    ``outputs``, when given, receives each stage's checked output by stage name.

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
        if outputs is not None:
            outputs[stage] = current
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


def _fails(bound: BoundExecutor, rows: DataFrame, contract: Conformance) -> BaseException | None:
    """The exception the executor raises on ``rows`` (``None`` when it does not), by one job
    computing every output column as the batch's own job does.

    Raises:
        PipelineRunError: the failure is not about the rows (:func:`_fail_if_not_about_rows`).
    """
    _, normalised = apply_stages(bound, rows)
    try:
        contract.apply(normalised, bound.name).write.format("noop").mode("overwrite").save()
    except ExecutorContractError:
        raise
    except Exception as exc:
        _fail_if_not_about_rows(exc, [bound.name])
        return exc
    return None


class _PoisonSearch:
    """Finds the rows that make an executor fail, by re-running it on halves of them.

    The rows' ids are sorted once on the driver, so every part is a contiguous range of ids
    whose size is known without a job; each test is one job. A row is a poison row only when
    the executor fails on that row alone, and the search stops as soon as more than
    :data:`MAX_POISON_ROWS` are found: past that the batch fails anyway.
    """

    def __init__(self, bound: BoundExecutor, rows: DataFrame, contract: Conformance) -> None:
        self.bound = bound
        self.rows = rows
        self.contract = contract
        row_id = F.col(f"{META}.row_id")
        # 8 bytes per row through Arrow, only for an executor that failed on its rows.
        self.ids = np.unique(rows.select(row_id.alias("id")).toArrow().column("id").to_numpy())
        self.found: dict[int, BaseException] = {}
        """Poison row id -> the error the executor raises on that row alone."""

    def run(self) -> dict[int, BaseException]:
        """Search every row (they failed together); stops after ``MAX_POISON_ROWS + 1``."""
        self._search(0, len(self.ids), None)
        return self.found

    def _done(self) -> bool:
        return len(self.found) > MAX_POISON_ROWS

    def _test(self, lo: int, hi: int) -> BaseException | None:
        row_id = F.col(f"{META}.row_id")
        part = self.rows.where(row_id.between(int(self.ids[lo]), int(self.ids[hi - 1])))
        return _fails(self.bound, part, self.contract)

    def _search(self, lo: int, hi: int, error: BaseException | None) -> None:
        """Find the failing rows among ``ids[lo:hi]``; ``error`` is the part's own failure
        when it was tested, ``None`` when it is only known that it should fail."""
        if self._done() or hi <= lo:
            return
        if hi - lo == 1:
            if error is None:
                error = self._test(lo, hi)
            if error is not None:
                self.found[int(self.ids[lo])] = error
            return
        mid = (lo + hi) // 2
        left = self._test(lo, mid)
        if left is not None:
            self._search(lo, mid, left)
            if not self._done():
                right = self._test(mid, hi)
                if right is not None:
                    self._search(mid, hi, right)
        else:
            # The left half passed, so the failure is in the right half: it is not tested as a
            # whole, only its parts (a single row always is, so none is blamed untested).
            self._search(mid, hi, None)


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
        kept, conformed, ok, bad, outside = _attempt(bound, routed, contract)
        return ExecutorResult(
            bound.name, bound.version, input_rows, input_rows - kept, ok, bad, conformed,
            cached=[conformed], outside_range=outside,
        )  # fmt: skip
    except ExecutorContractError:
        raise
    except Exception as exc:
        failure = exc
    _fail_if_not_about_rows(failure, [bound.name])
    message = summary(failure)
    log.warning("executor %s failed on a batch (%s); isolating failing rows", bound.name, message)
    if _fails(bound, routed.limit(0), contract) is not None:
        raise PipelineRunError(
            "EXECUTOR_FAILED",
            f"Executor {bound.name!r} fails even on an empty batch: {message}",
            {"executor": bound.name},
        ) from failure
    poison = _PoisonSearch(bound, routed, contract).run()
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
    row_id = F.col(f"{META}.row_id")
    ids = list(poison)
    rest = routed.where(~row_id.isin(ids))
    try:
        kept, conformed, ok, bad, outside = _attempt(bound, rest, contract)
    except ExecutorContractError:
        raise
    except Exception as exc:
        _fail_if_not_about_rows(exc, [bound.name])
        raise
    messages = F.create_map(
        *[v for i, e in poison.items() for v in (F.lit(i).cast("bigint"), F.lit(summary(e)[:1000]))]
    )
    letters = routed.where(row_id.isin(ids)).withColumn(
        ERROR,
        F.struct(
            F.lit(Reason.EXECUTOR_ERROR.value).alias("reason"),
            F.element_at(messages, row_id).alias("message"),
        ),
    )
    return ExecutorResult(
        bound.name,
        bound.version,
        input_rows,
        input_rows - n_poison - kept,
        ok,
        bad + n_poison,
        conformed,
        poison=letters,
        cached=[conformed],
        outside_range=outside,
    )


def _fail_if_not_about_rows(exc: BaseException, executors: list[str]) -> None:
    """Raise the batch's failure at once when ``exc`` cannot be blamed on any row.

    Raises:
        PipelineRunError: ``INFRASTRUCTURE_ERROR`` naming the real cause (the missing module,
            the lost executor, the unreachable service), or ``SERVICE_FAILED`` for a service
            whose ``on_failure`` is ``fail``.
    """
    found = not_about_rows(exc)
    if found is None:
        return
    names = ", ".join(repr(n) for n in executors)
    who = f"Executor {names}" if len(executors) == 1 else f"Executors {names} (in one job)"
    params: dict[str, object] = {"executors": executors, "kind": found.kind, "cause": found.cause}
    if found.kind == "service_failed":
        raise PipelineRunError(
            "SERVICE_FAILED",
            f"{who} failed: {found.cause}. {found.hint} Nothing of the batch was written.",
            params,
        ) from exc
    if found.module is not None:
        params["module"] = found.module
    what = f"module {found.module!r} not found on the workers" if found.module else found.kind
    raise PipelineRunError(
        "INFRASTRUCTURE_ERROR",
        f"{who} failed for a reason that is not about the rows ({what}): {found.cause}. "
        f"{found.hint} No row was dead-lettered and nothing of the batch was written.",
        params,
    ) from exc


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
            _fail_if_not_about_rows(exc, [bound.name for bound, _, _ in work])
            log.info(
                "executors failed in their joint job (%s); running them one by one", summary(exc)
            )
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
