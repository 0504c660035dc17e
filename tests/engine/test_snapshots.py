"""Offline-table snapshots: read, prepared and cached once, reused by every batch while the
table's Delta version is unchanged, swapped when it moved (checked at most every ``refresh``),
rebuilt for every batch with ``every_batch``; the version used is in the batch report and in
the commit's userMetadata."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.engine import build_config, config_dict, raw, registry_with, write_source

from spark_enrich import AsOfColumns, EnrichContext, Executor, Pipeline, TableSpec, executor
from spark_enrich.snapshots import OfflineTable, SnapshotStore
from spark_enrich.tables import TableRef

PINS = "pin_id STRING, category STRING"


class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write_pins(spark: SparkSession, path: Path, rows: list[tuple[str, str]], mode: str) -> None:
    spark.createDataFrame(rows, PINS).write.format("delta").mode(mode).save(str(path))


def store_of(
    spark: SparkSession, path: Path, refresh: timedelta | None, clock: Clock
) -> SnapshotStore:
    table = OfflineTable("pins", TableRef(path=str(path)), TableSpec(keys=("pin_id",)), refresh)
    return SnapshotStore(spark, [table], clock=clock)


def test_a_snapshot_is_reused_while_the_version_is_unchanged_and_swapped_when_it_moved(
    spark: SparkSession, tmp_path: Path
) -> None:
    pins = tmp_path / "pins"
    write_pins(spark, pins, [("p1", "food")], "overwrite")
    clock = Clock()
    store = store_of(spark, pins, timedelta(minutes=5), clock)

    assert store.refresh() == {"pins": 0}
    first = store.current("pins")
    assert first is not None and first.cached and first.frame.is_cached

    # Within the interval a new version is not even looked up: the same snapshot serves.
    write_pins(spark, pins, [("p2", "travel")], "append")
    clock.now += 299
    assert store.refresh() == {"pins": 0}
    assert store.current("pins") is first
    assert_df_equality(store.frame("pins"), spark.createDataFrame([("p1", "food")], PINS))

    # After it, the version is checked and a snapshot of the new version swapped in.
    clock.now += 1
    assert store.refresh() == {"pins": 1}
    second = store.current("pins")
    assert second is not None and second is not first and second.build == 2
    assert not first.frame.is_cached  # the old snapshot was released
    assert_df_equality(
        store.frame("pins"),
        spark.createDataFrame([("p1", "food"), ("p2", "travel")], PINS),
        ignore_row_order=True,
    )

    # Checked again with no new version: the snapshot is kept, not read again.
    clock.now += 600
    assert store.refresh() == {"pins": 1}
    assert store.current("pins") is second
    store.close()
    assert not second.frame.is_cached


def test_every_batch_reads_the_table_again_for_every_batch(
    spark: SparkSession, tmp_path: Path
) -> None:
    pins = tmp_path / "pins"
    write_pins(spark, pins, [("p1", "food")], "overwrite")
    store = store_of(spark, pins, None, Clock())

    assert store.refresh() == {"pins": 0}
    first = store.current("pins")
    assert store.refresh() == {"pins": 0}
    second = store.current("pins")
    assert first is not None and second is not None
    assert second.build == first.build + 1 and not second.cached

    write_pins(spark, pins, [("p2", "travel")], "append")
    assert store.refresh() == {"pins": 1}  # no clock moved: every batch looks
    assert store.frame("pins").count() == 2


def test_expire_has_the_next_batch_check_the_version(spark: SparkSession, tmp_path: Path) -> None:
    pins = tmp_path / "pins"
    write_pins(spark, pins, [("p1", "food")], "overwrite")
    store = store_of(spark, pins, timedelta(hours=1), Clock())
    store.refresh()
    write_pins(spark, pins, [("p2", "travel")], "append")

    store.expire()

    assert store.refresh() == {"pins": 1}


def test_a_prepared_table_has_one_row_per_key_the_smallest(spark: SparkSession) -> None:
    table = spark.createDataFrame(
        [
            ("p1", "b2", "diy"),
            ("p1", "b1", "zoo"),
            ("p1", "b1", "art"),
            ("p2", None, None),
            (None, "b9", "nope"),
        ],
        "pin_id STRING, board_id STRING, category STRING",
    )

    prepared = TableSpec(keys=("pin_id",)).prepare(table)

    expected = spark.createDataFrame(
        [("p1", "b1", "art"), ("p2", None, None)],
        "pin_id STRING, board_id STRING, category STRING",
    )
    assert_df_equality(prepared, expected, ignore_row_order=True)


def test_a_prepared_as_of_table_keeps_every_version_once(spark: SparkSession) -> None:
    jan, feb = datetime(2026, 1, 1), datetime(2026, 2, 1)
    schema = "user_id STRING, country STRING, valid_from TIMESTAMP"
    table = spark.createDataFrame([("u1", "FR", jan), ("u1", "BE", jan), ("u1", "DE", feb)], schema)
    spec = TableSpec(keys=("user_id",), as_of=AsOfColumns("event_time", "valid_from"))
    ctx = EnrichContext({"users": lambda: table}, executor="t", specs={"users": spec})

    expected = spark.createDataFrame([("u1", "BE", jan), ("u1", "DE", feb)], schema)
    assert_df_equality(ctx.table("users"), expected, ignore_row_order=True)
    events = spark.createDataFrame(
        [("e1", "u1", datetime(2026, 1, 10))],
        "event_id STRING, user_id STRING, event_time TIMESTAMP",
    )
    assert [r.country for r in ctx.join("users", events).collect()] == ["BE"]


class Categorised(Executor):
    """Clicks whose ``value`` is the category of pin ``x`` (``none`` for an unknown pin)."""

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        return ctx.join("pins", df.withColumnRenamed("x", "pin_id"))

    def normalise(self, df: DataFrame) -> DataFrame:
        return df.withColumns(
            {
                "event_date": F.to_date("event_time"),
                "value": F.coalesce(F.col("category"), F.lit("none")),
            }
        )


def pins_pipeline(spark: SparkSession, tmp_path: Path, refresh: str) -> Pipeline:
    registry = registry_with()
    executor(
        name="categorised", version="1.0", event_types=["click"], tables=["pins"], registry=registry
    )(Categorised)
    table = {"name": "pins", "path": str(tmp_path / "pins"), "keys": ["pin_id"], "refresh": refresh}
    data = config_dict(tmp_path, ["categorised"], enrichments={"tables": [table]})
    return Pipeline(build_config(data, registry), spark=spark, registry=registry)


def test_the_batch_report_and_the_commit_name_the_snapshot_versions(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_pins(spark, tmp_path / "pins", [("p1", "food")], "overwrite")
    write_pins(spark, tmp_path / "pins", [("p2", "travel")], "append")  # version 1
    write_source(spark, tmp_path / "raw", [raw("e1", x="p1"), raw("e2", x="p2")])
    pipeline = pins_pipeline(spark, tmp_path, "1h")

    (batch,) = pipeline.run_batch().batches

    assert batch.tables == {"pins": 1}
    assert json.loads(batch.to_json())["tables"] == {"pins": 1}
    (metadata,) = [
        json.loads(r.userMetadata)
        for r in TableRef(path=str(tmp_path / "out")).history(spark).collect()
        if r.operation != "CREATE TABLE" and r.userMetadata
    ]
    assert metadata["tables"] == {"pins": 1}

    # A new run joins the table as it is now, whatever the refresh interval.
    write_pins(spark, tmp_path / "pins", [("p1", "art")], "overwrite")
    write_source(spark, tmp_path / "raw", [raw("e3", x="p1"), raw("e4", x="p2")])
    (again,) = pipeline.run_batch().batches

    assert again.tables == {"pins": 2}
    values = {(r.event_id, r.value) for r in pipeline.output().collect()}
    assert values == {("e1", "food"), ("e2", "travel"), ("e3", "art"), ("e4", "none")}
