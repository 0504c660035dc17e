"""Parity assertions: the same events through two runtimes must give the same records.

Only the engine's metadata (columns starting with ``_``: executor, source coordinates, ingest
time, run id) may differ between a streaming and a batch run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def business_columns(df: DataFrame) -> DataFrame:
    """``df`` without the engine's ``_``-prefixed metadata columns, columns in sorted order."""
    return df.select(*sorted(c for c in df.columns if not c.startswith("_")))


def assert_parity(left: DataFrame, right: DataFrame) -> None:
    """Assert two outputs hold the same records, ignoring engine metadata and row order.

    Raises:
        AssertionError: with chispa's side-by-side diff of the differing rows.
    """
    from chispa import assert_df_equality

    try:
        assert_df_equality(
            business_columns(left),
            business_columns(right),
            ignore_row_order=True,
            ignore_nullable=True,
        )
    except Exception as exc:
        # chispa's own error types are not AssertionErrors; a test framework expects one.
        if type(exc).__module__.startswith("chispa"):
            raise AssertionError(str(exc)) from exc
        raise
