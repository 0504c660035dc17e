"""Conform: cast an executor's output to the pipeline's output contract and mark violations.

Casting uses ``try_cast`` (ANSI mode would fail the job on a bad value) and a value that does
not survive the cast, or a null in a non-nullable or key column, becomes a ``contract_violation``
dead letter instead of an output row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import Column
from pyspark.sql import functions as F

from spark_enrich.columns import ERROR, META, Reason
from spark_enrich.errors import ExecutorContractError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class ContractColumn:
    """One column of the output contract."""

    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class OutputContract:
    """The normalised schema every executor's output is conformed to."""

    columns: tuple[ContractColumn, ...]
    key: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        """The contract as a Spark DDL schema string."""
        return ", ".join(
            f"`{c.name}` {c.type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns
        )


def conform(
    df: DataFrame,
    contract: OutputContract,
    *,
    executor: str,
    constraint: tuple[Column, str] | None = None,
) -> DataFrame:
    """Project ``df`` to the contract's columns (plus ``_se_meta``) and set ``_se_error``.

    ``constraint`` is an extra (condition on the contract columns, message) that every output
    row must meet, such as a backfill's date range; rows failing it are contract violations.

    Raises:
        ExecutorContractError: ``MISSING_OUTPUT_COLUMN`` when a non-nullable contract column is
            absent from the executor's output (a bug in the executor, not bad data).
    """
    present = set(df.columns)
    missing = [c.name for c in contract.columns if c.name not in present and not c.nullable]
    if missing:
        raise ExecutorContractError(
            "MISSING_OUTPUT_COLUMN",
            f"Executor {executor!r} produced no column(s) {missing}, which the output contract "
            f"requires (non-nullable). Its output has: {sorted(present)}",
            {"executor": executor, "missing": missing},
        )
    casts: list[Column] = []
    checks: list[tuple[Column, Column]] = []
    key = set(contract.key)
    for col in contract.columns:
        if col.name not in present:
            casts.append(F.lit(None).cast(col.type).alias(col.name))
            continue
        original = F.col(f"`{col.name}`")
        cast = original.try_cast(col.type)
        casts.append(cast.alias(col.name))
        checks.append(
            (
                original.isNotNull() & cast.isNull(),
                F.concat(
                    F.lit(f"column {col.name!r}: value "),
                    F.substring(original.cast("string"), 1, 80),
                    F.lit(f" cannot be cast to {col.type}"),
                ),
            )
        )
        if not col.nullable or col.name in key:
            checks.append(
                (
                    original.isNull(),
                    F.lit(f"column {col.name!r} is null but the contract requires a value"),
                )
            )
    error: Column | None = None
    if constraint is not None:
        condition, text = constraint
        checks.append((~F.coalesce(condition, F.lit(False)), F.lit(text)))
    for condition, message in checks:
        value = F.struct(
            F.lit(Reason.CONTRACT_VIOLATION.value).alias("reason"), message.alias("message")
        )
        error = F.when(condition, value) if error is None else error.when(condition, value)
    error_col = error.otherwise(F.lit(None)) if error is not None else F.lit(None)
    if ERROR in present:
        # An error set inside the executor (an enrichment-service failure) comes first.
        error_col = F.coalesce(F.col(ERROR), error_col)
    return df.select(*casts, F.col(META), error_col.alias(ERROR))


def contract_from_config(columns: Sequence[object], key: Sequence[str]) -> OutputContract:
    """Build an :class:`OutputContract` from the config's ``output`` section."""
    return OutputContract(
        columns=tuple(
            ContractColumn(
                name=str(c.name),  # type: ignore[attr-defined]
                type=str(c.type),  # type: ignore[attr-defined]
                nullable=bool(getattr(c, "nullable", True)),
            )
            for c in columns
        ),
        key=tuple(key),
    )
