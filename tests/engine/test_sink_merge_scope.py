"""A merge sink whose key includes a partition column reads only the partitions a batch writes
to; without a partition column in the key it still matches keys across the whole table."""

from __future__ import annotations

from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from spark_enrich.columns import SOURCE_TYPE
from spark_enrich.conform import ContractColumn, OutputContract
from spark_enrich.sink import MergeSink
from spark_enrich.tables import TableRef

COLUMNS = (
    ContractColumn("event_id", "string", nullable=False),
    ContractColumn("day", "date", nullable=False),
    ContractColumn("value", "string"),
)


def sink(path: Path, key: tuple[str, ...]) -> MergeSink:
    contract = OutputContract(COLUMNS, key=key)
    return MergeSink(TableRef(path=str(path)), contract, partition_by=("day",))


def rows(spark: SparkSession, data: list[tuple[str, str, str]]) -> DataFrame:
    """Contract columns plus the engine's metadata columns, as the sink receives them."""
    frame = spark.createDataFrame(data, "event_id STRING, day STRING, value STRING")
    return frame.selectExpr(
        "event_id",
        "CAST(day AS DATE) AS day",
        "value",
        "'test' AS _executor",
        "'1' AS _executor_version",
        f"CAST(NULL AS {SOURCE_TYPE}) AS _source",
        "current_timestamp() AS _ingested_at",
        "'run' AS _run_id",
    )


FIRST = [
    ("a", "2026-01-01", "a1"),
    ("b", "2026-01-02", "b1"),
    ("c", "2026-01-02", "c1"),
    ("d", "2026-01-03", "d1"),
]


def test_a_key_with_the_partition_column_reads_only_the_batch_partitions(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = tmp_path / "out"
    target = sink(path, ("event_id", "day"))
    target.write(spark, rows(spark, FIRST), txn=None, user_metadata="first")
    # The other days' files disappear: a merge that read them would fail.
    for day in ("2026-01-01", "2026-01-03"):
        for parquet in (path / f"day={day}").glob("*.parquet"):
            parquet.unlink()
    second = [("c", "2026-01-02", "c2"), ("e", "2026-01-02", "e1")]

    added = target.write(spark, rows(spark, second), txn=None, user_metadata="second")

    assert added == 1  # c is already there on that day
    expected = spark.createDataFrame(
        [("b", "b1"), ("c", "c1"), ("e", "e1")], "event_id STRING, value STRING"
    )
    assert_df_equality(
        target.read(spark).where("day = DATE'2026-01-02'").select("event_id", "value"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_a_key_without_the_partition_column_matches_in_every_partition(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = tmp_path / "out"
    target = sink(path, ("event_id",))
    target.write(spark, rows(spark, FIRST), txn=None, user_metadata="first")
    # "a" again, on another day: the key alone identifies it, so it is not inserted.
    again = [("a", "2026-01-05", "a2"), ("f", "2026-01-05", "f1")]

    added = target.write(spark, rows(spark, again), txn=None, user_metadata="again")

    assert added == 1
    expected = spark.createDataFrame(
        [("a", "a1"), ("b", "b1"), ("c", "c1"), ("d", "d1"), ("f", "f1")],
        "event_id STRING, value STRING",
    )
    assert_df_equality(
        target.read(spark).select("event_id", "value"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
