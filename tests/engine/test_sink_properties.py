"""The sink's configured table properties hold on new and on existing tables."""

from __future__ import annotations

from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

from spark_enrich.tables import TableRef

SCHEMA = StructType([StructField("event_id", StringType()), StructField("n", IntegerType())])


def properties(spark: SparkSession, path: Path) -> dict[str, str]:
    (row,) = DeltaTable.forPath(spark, str(path)).detail().collect()
    return dict(row["properties"])


def version(spark: SparkSession, path: Path) -> int:
    (row,) = DeltaTable.forPath(spark, str(path)).history(1).collect()
    return int(row["version"])


def test_an_existing_table_gets_changed_and_new_properties_once(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = tmp_path / "out's table"
    first = {"delta.appendOnly": "false", "team": "ads", "note": "it's"}
    TableRef(path=str(path)).ensure(spark, SCHEMA, properties=first)
    created = version(spark, path)

    changed = {"delta.appendOnly": "true", "team": "ads", "note": "back\\slash"}
    TableRef(path=str(path)).ensure(spark, SCHEMA, properties=changed)
    after_change = version(spark, path)
    TableRef(path=str(path)).ensure(spark, SCHEMA, properties=changed)

    assert properties(spark, path) == changed
    assert after_change == created + 1
    assert version(spark, path) == after_change  # nothing to change: no commit


def test_properties_the_configuration_drops_are_kept(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "out"
    TableRef(path=str(path)).ensure(spark, SCHEMA, properties={"team": "ads"})
    TableRef(path=str(path)).ensure(spark, SCHEMA, properties={"tier": "gold"})

    assert properties(spark, path) == {"team": "ads", "tier": "gold"}


def test_delta_keys_compare_in_any_case(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "out"
    lower = {"delta.appendonly": "false"}
    TableRef(path=str(path)).ensure(spark, SCHEMA, properties=lower)
    created = version(spark, path)
    TableRef(path=str(path)).ensure(spark, SCHEMA, properties=lower)

    assert properties(spark, path) == {"delta.appendOnly": "false"}
    assert version(spark, path) == created
