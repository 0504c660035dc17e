"""A :class:`TableRef` reads, versions, creates and writes a Delta table named by a path or by a
catalog name the same way; commits retry Delta's typed conflict exceptions, and only those."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from delta import exceptions as delta_exceptions
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType

from spark_enrich.delta_commit import is_conflict, with_conflict_retry
from spark_enrich.tables import SessionMemo, TableRef

SCHEMA = StructType([StructField("id", LongType()), StructField("name", StringType())])


@pytest.fixture
def catalog_schema(spark: SparkSession, tmp_path: Path) -> Iterator[str]:
    """A database whose managed tables live under ``tmp_path``."""
    name = f"tables_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {name} LOCATION '{tmp_path / 'warehouse'}'")
    yield name
    spark.sql(f"DROP SCHEMA {name} CASCADE")


def _exercise(spark: SparkSession, ref: TableRef) -> None:
    assert not ref.exists(spark)
    ref.ensure(spark, SCHEMA, properties={"team": "ads"})
    assert ref.exists(spark)
    assert ref.version(spark) == 0
    assert ref.read(spark).schema == SCHEMA
    assert ref.committed_txn_version(spark, "app") == -1

    rows = spark.createDataFrame([(1, "a"), (2, "b")], SCHEMA)
    ref.save(
        rows.write.format("delta").mode("append").option("txnAppId", "app").option("txnVersion", 7)
    )
    assert ref.version(spark) == 1
    assert ref.committed_txn_version(spark, "app") == 7
    assert sorted(r["id"] for r in ref.read(spark).collect()) == [1, 2]
    assert ref.read(spark, version=0).count() == 0
    assert [r["version"] for r in ref.history(spark).collect()] == [1, 0]
    assert ref.history(spark, 1).count() == 1

    # Ensuring an existing table changes nothing but properties it holds with another value.
    ref.ensure(spark, SCHEMA, properties={"team": "ads"})
    assert ref.version(spark) == 1
    wider = StructType([*SCHEMA.fields, StructField("extra", StringType())])
    ref.add_missing_columns(spark, wider)
    assert ref.read(spark).columns == ["id", "name", "extra"]
    detail = ref.delta_table(spark).detail().first()
    assert detail is not None and detail["properties"]["team"] == "ads"


def test_a_table_by_path(spark: SparkSession, tmp_path: Path) -> None:
    ref = TableRef(path=str(tmp_path / "it's a table"))
    assert ref.sql().startswith("delta.`") and ref.location == str(tmp_path / "it's a table")
    _exercise(spark, ref)


def test_a_table_by_catalog_name(spark: SparkSession, catalog_schema: str) -> None:
    ref = TableRef(name=f"{catalog_schema}.events")
    assert ref.sql() == ref.location == f"{catalog_schema}.events"
    _exercise(spark, ref)


def test_a_table_is_named_by_exactly_one_of_path_and_name() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TableRef()
    with pytest.raises(ValueError, match="exactly one"):
        TableRef(path="/a", name="b")
    # A configuration section's pair: the path, else the table name.
    assert TableRef.of(path="/a", table=None) == TableRef(path="/a")
    assert TableRef.of(path=None, table="db.t") == TableRef(name="db.t")


def _conflicting_commit(spark: SparkSession, path: str, *, concurrent: bool) -> None:
    """A transaction that reads the whole table and commits; with ``concurrent``, another
    writer overwrites the table in between (Delta then refuses the commit)."""
    jvm: Any = spark._jvm
    log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    txn = log.startTransaction()
    txn.filterFiles()  # reads every file of the snapshot
    if concurrent:
        spark.range(2).write.format("delta").mode("overwrite").save(path)
    operation = getattr(
        getattr(jvm, "org.apache.spark.sql.delta.DeltaOperations$ManualUpdate$"), "MODULE$"
    )
    nothing = getattr(getattr(jvm, "scala.collection.immutable.Nil$"), "MODULE$")
    txn.commit(nothing, operation)


def test_a_real_concurrent_write_conflict_is_retried(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "contended")
    spark.range(3).write.format("delta").save(path)
    attempts: list[BaseException | None] = []

    def commit() -> None:
        first = not attempts
        try:
            _conflicting_commit(spark, path, concurrent=first)
        except Exception as exc:
            attempts.append(exc)
            raise
        attempts.append(None)

    with_conflict_retry(commit, what="test commit", base_delay=0.01)
    # Delta raised its typed exception once; the retry read the new version and committed.
    assert len(attempts) == 2 and attempts[1] is None
    assert isinstance(attempts[0], delta_exceptions.ConcurrentDeleteReadException)
    assert is_conflict(attempts[0])
    assert TableRef(path=path).version(spark) == 2


def test_a_failure_that_is_no_conflict_is_not_retried(spark: SparkSession, tmp_path: Path) -> None:
    calls = []

    def read_missing() -> None:
        calls.append(1)
        TableRef(path=str(tmp_path / "missing")).version(spark)

    with pytest.raises(AnalysisException):
        with_conflict_retry(read_missing, what="test read", base_delay=0.01)
    assert len(calls) == 1
    # Text that mentions a conflict is no conflict: only Delta's types are.
    assert not is_conflict(RuntimeError("ConcurrentAppendException DELTA_CONCURRENT_APPEND"))


def test_a_conflict_raised_as_the_cause_of_another_error_is_one(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "contended")
    spark.range(3).write.format("delta").save(path)
    with pytest.raises(delta_exceptions.ConcurrentDeleteReadException) as raised:
        _conflicting_commit(spark, path, concurrent=True)
    wrapped = RuntimeError("commit failed")
    wrapped.__cause__ = raised.value
    assert is_conflict(wrapped)


def test_a_session_memo_runs_once_per_session_and_again_after_a_failure(
    spark: SparkSession,
) -> None:
    memo, runs = SessionMemo(), []

    def fail() -> None:
        runs.append("fail")
        raise OSError("storage unreachable")

    with pytest.raises(OSError):
        memo.once(spark, fail)
    memo.once(spark, lambda: runs.append("ok"))
    memo.once(spark, lambda: runs.append("again"))
    assert runs == ["fail", "ok"]
    # Another owner's memo is its own.
    SessionMemo().once(spark, lambda: runs.append("other"))
    assert runs == ["fail", "ok", "other"]
