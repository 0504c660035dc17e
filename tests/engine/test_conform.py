"""Conforming an executor's output to the contract: casts, violations and their messages, for
any column name (the projection is SQL text, so names and messages must be quoted right)."""

from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from spark_enrich.conform import ContractColumn, OutputContract, conform

# A name with every character that needs quoting in SQL: backtick, quote, backslash, space.
ODD = "it's `odd`\\ n"
CONTRACT = OutputContract(
    columns=(
        ContractColumn("id", "string", nullable=False),
        ContractColumn(ODD, "int"),
        ContractColumn("missing", "array<string>"),
    ),
    key=("id",),
)
ERROR_DDL = "struct<reason: string, message: string>"


def _output(spark: SparkSession, with_error: bool = False):  # type: ignore[no-untyped-def]
    error = f", _se_error {ERROR_DDL}" if with_error else ""
    rows = [
        ("a", "7", (1,), None),
        ("b", "seven", (2,), None),
        (None, "8", (3,), None),
        ("c", None, (4,), ("enrichment_error", "service down")),
    ]
    return spark.createDataFrame(
        [r if with_error else r[:3] for r in rows],
        f"id string, `{ODD.replace('`', '``')}` string, _se_meta struct<row_id: int>{error}",
    )


def _expected(spark: SparkSession, errors: list[tuple[str, str] | None]):  # type: ignore[no-untyped-def]
    values = [("a", 7), ("b", None), (None, 8), ("c", None)]
    return spark.createDataFrame(
        [
            (i, n, None, (k + 1,), e)
            for k, ((i, n), e) in enumerate(zip(values, errors, strict=True))
        ],
        f"id string, `{ODD.replace('`', '``')}` int, missing array<string>, "
        f"_se_meta struct<row_id: int>, _se_error {ERROR_DDL}",
    )


def test_casts_and_names_every_violation_with_the_column_and_value(spark: SparkSession) -> None:
    out = conform(_output(spark), CONTRACT, executor="x")

    expected = _expected(
        spark,
        [
            None,
            ("contract_violation", f"column {ODD!r}: value seven cannot be cast to int"),
            ("contract_violation", "column 'id' is null but the contract requires a value"),
            None,
        ],
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_a_constraint_flags_rows_and_an_executor_error_comes_first(spark: SparkSession) -> None:
    out = conform(
        _output(spark, with_error=True),
        CONTRACT,
        executor="x",
        constraint=("`id` <> 'a'", "id must not be 'a' \\ here"),
    )

    expected = _expected(
        spark,
        [
            ("contract_violation", "id must not be 'a' \\ here"),
            ("contract_violation", f"column {ODD!r}: value seven cannot be cast to int"),
            ("contract_violation", "column 'id' is null but the contract requires a value"),
            ("enrichment_error", "service down"),
        ],
    )
    assert_df_equality(out, expected, ignore_nullable=True)
