"""The executor contract as the engine runs it: an executor bound to its enrichment context, its
four stages with the checks on what each returns, and how its output is conformed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame

from spark_enrich.columns import META
from spark_enrich.conform import OutputContract, conform
from spark_enrich.errors import ExecutorContractError
from spark_enrich.executor import Executor

if TYPE_CHECKING:
    from spark_enrich.context import EnrichContext


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


@dataclass(frozen=True)
class Conformance:
    """How an executor's output is conformed: the contract and an optional extra row check."""

    contract: OutputContract
    constraint: tuple[str, str] | None = None
    """(SQL condition, message): see :func:`spark_enrich.conform.conform`."""
    scope: str | None = None
    """SQL condition on the contract columns: good rows failing it are not this run's output
    (a Kafka backfill reads a margin around its range); they are left out and counted."""
    event_time: str | None = None
    """A TIMESTAMP contract column whose times are observed for the freshness metrics."""

    def apply(self, df: DataFrame, executor: str) -> DataFrame:
        return conform(df, self.contract, executor=executor, constraint=self.constraint)
