"""Running an executor's stages in a test exactly as a pipeline run does: each stage's output
goes through the engine's contract checks, and the enrich stage reaches only the tables and
services the executor declares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spark_enrich.context import EnrichContext
from spark_enrich.executing import BoundExecutor, apply_stages

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from spark_enrich.executor import Executor
    from spark_enrich.lookup import TableSpec


@dataclass(frozen=True)
class StageOutputs:
    """The output of each of an executor's four stages, in order (each the next one's input)."""

    filter: DataFrame
    featurise: DataFrame
    enrich: DataFrame
    normalise: DataFrame


def run_stages(
    executor: Executor,
    df: DataFrame,
    *,
    tables: Mapping[str, DataFrame] | None = None,
    services: Mapping[str, Callable[[DataFrame], DataFrame]] | None = None,
    joins: Mapping[str, TableSpec] | None = None,
) -> StageOutputs:
    """Run ``executor``'s filter, featurise, enrich and normalise on ``df`` with the checks a
    pipeline run applies to every stage, and return each stage's output.

    As in a run, the enrich stage is offered only the tables and services the executor
    declares in ``@executor(tables=..., services=...)``; any other name given here stays out,
    so using it fails with ``UNDECLARED_TABLE`` / ``UNDECLARED_SERVICE``. Nothing is computed:
    the outputs are lazy DataFrames.

    Args:
        executor: the executor instance, with its params.
        df: decoded events, as the engine hands them to the executor (keep the engine's
            ``_se_meta`` column in it to have its survival checked).
        tables: offline tables by logical name.
        services: enrichment service calls by logical name (DataFrame in, DataFrame out).
        joins: the join keys and ``as_of`` of tables, as ``enrichments.tables`` declares them
            (needed for ``ctx.join``).

    Returns:
        The four stages' outputs.

    Raises:
        ExecutorContractError: a stage returned something else than a DataFrame
            (``STAGE_RETURNED_NON_DATAFRAME``), dropped the engine's column
            (``ENGINE_COLUMN_DROPPED``) or failed while Spark analysed it (``STAGE_FAILED``);
            or the enrich stage asked for an undeclared table or service.

    Example:
        >>> out = run_stages(Engagement(), events, tables={"pins": pins, "users": users})
        >>> assert_df_equality(out.normalise.select(...), expected)
    """
    spec = executor.spec
    given_tables = tables or {}
    given_services = services or {}
    context = EnrichContext(
        {name: _loader(given_tables[name]) for name in spec.tables if name in given_tables},
        {name: given_services[name] for name in spec.services if name in given_services},
        executor=spec.name,
        specs={name: s for name, s in (joins or {}).items() if name in spec.tables},
    )
    outputs: dict[str, DataFrame] = {}
    apply_stages(BoundExecutor(executor, context), df, outputs=outputs)
    return StageOutputs(**outputs)


def _loader(table: DataFrame) -> Callable[[], DataFrame]:
    return lambda: table
