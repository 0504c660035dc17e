"""Determinism checks for executor authors: the same events must give the same output however
they are partitioned, ordered, split into micro-batches, and whenever they run.

Example:
    >>> from spark_enrich.testing.determinism import assert_deterministic
    >>> assert_deterministic(Reactions, sample, tables={"emoji_names": emoji})  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from spark_enrich.parity.determinism import DeterminismReport, check_determinism

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pyspark.sql import DataFrame

    from spark_enrich.executor import Executor
    from spark_enrich.lookup import TableSpec


def check_executor(
    executor: type[Executor] | Executor,
    sample: DataFrame,
    *,
    tables: Mapping[str, DataFrame] | None = None,
    specs: Mapping[str, TableSpec] | None = None,
    params: BaseModel | None = None,
) -> DeterminismReport:
    """Run ``executor``'s four stages on ``sample`` in every arrangement and compare.

    Args:
        executor: the executor class (instantiated with ``params``) or an instance.
        sample: decoded events of its event types (hand-written rows need no ``_se_meta``).
        tables: its offline tables by logical name, for ``ctx.table``/``ctx.join``.
        specs: the tables' join keys (:class:`spark_enrich.TableSpec`), for ``ctx.join``.
        params: its validated params when ``executor`` is a class.

    Returns:
        The report (see :class:`spark_enrich.parity.determinism.DeterminismReport`).
    """
    from spark_enrich.context import EnrichContext
    from spark_enrich.executing import BoundExecutor, apply_stages

    instance = executor(params) if isinstance(executor, type) else executor
    spec = instance.spec
    loaders = {name: (lambda frame=frame: frame) for name, frame in (tables or {}).items()}
    bound = BoundExecutor(instance, EnrichContext(loaders, executor=spec.name, specs=specs))

    def run(rows: DataFrame) -> DataFrame:
        return apply_stages(bound, rows)[1]

    return check_determinism(run, sample, executor=spec.name, version=spec.version)


def assert_deterministic(
    executor: type[Executor] | Executor,
    sample: DataFrame,
    *,
    tables: Mapping[str, DataFrame] | None = None,
    specs: Mapping[str, TableSpec] | None = None,
    params: BaseModel | None = None,
) -> None:
    """Assert that ``executor`` gives the same output in every arrangement of ``sample``.

    Raises:
        AssertionError: naming the executor, each differing column, the arrangement and
            example rows (by their number in the sample).
    """
    report = check_executor(executor, sample, tables=tables, specs=specs, params=params)
    if not report.deterministic:
        raise AssertionError("\n".join(report.render()))
