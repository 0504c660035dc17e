"""The ``sequence`` sink: each group's last N events, oldest first, folded batch by batch.

Expected sequences come from :func:`reference`, a plain-Python statement of the rule (the
latest version of each event, sorted by time then key, the last N kept), not from the sink.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_enrich.columns import SOURCE_TYPE
from spark_enrich.conform import ContractColumn, OutputContract
from spark_enrich.delta_commit import Txn
from spark_enrich.errors import PipelineRunError
from spark_enrich.sequence import SequenceFold
from spark_enrich.sink import SequenceSink
from spark_enrich.tables import TableRef

LENGTH = 3
COLUMNS = (
    ContractColumn("region", "string", nullable=False),
    ContractColumn("user_id", "string", nullable=False),
    ContractColumn("event_id", "string", nullable=False),
    ContractColumn("event_time", "timestamp", nullable=False),
    ContractColumn("value", "string"),
    # Maps cannot be compared: items holding one must still fold (the sort compares only the
    # order and key fields).
    ContractColumn("attrs", "map<string,string>"),
)
Event = tuple[str, str, str, int, str]  # region, user, event id, minute, value


def sink(path: Path, partition_by: tuple[str, ...] = ()) -> SequenceSink:
    contract = OutputContract(COLUMNS, key=("event_id",))
    fold = SequenceFold(
        group_by=("region", "user_id"),
        order_by=("event_time",),
        length=LENGTH,
        column="events",
        key=("event_id",),
    )
    return SequenceSink(TableRef(path=str(path)), contract, partition_by, fold=fold)


def rows(spark: SparkSession, events: list[Event]) -> DataFrame:
    """Contract columns plus the engine's metadata columns, as the sink receives them."""
    frame = spark.createDataFrame(
        events, "region STRING, user_id STRING, event_id STRING, minute INT, value STRING"
    )
    return frame.selectExpr(
        "region",
        "user_id",
        "event_id",
        "timestamp_seconds(1767607200 + minute * 60) AS event_time",
        "value",
        "map('v', value) AS attrs",
        "'test' AS _executor",
        "'1' AS _executor_version",
        f"CAST(NULL AS {SOURCE_TYPE}) AS _source",
        "current_timestamp() AS _ingested_at",
        "'run' AS _run_id",
    )


def reference(batches: list[list[Event]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Each group's last LENGTH (event id, value): a later batch's version of an event wins."""
    latest: dict[str, Event] = {}
    for batch in batches:
        for event in batch:
            latest[event[2]] = event
    groups: dict[tuple[str, str], list[Event]] = {}
    for event in latest.values():
        groups.setdefault((event[0], event[1]), []).append(event)
    return {
        group: [(e[2], e[4]) for e in sorted(events, key=lambda e: (e[3], e[2]))[-LENGTH:]]
        for group, events in groups.items()
    }


def stored(spark: SparkSession, path: Path) -> DataFrame:
    """The table as (region, user_id, position, event_id, value, attrs value)."""
    table = spark.read.format("delta").load(str(path))
    return table.select("region", "user_id", F.posexplode("events").alias("position", "e")).select(
        "region",
        "user_id",
        "position",
        F.col("e.event_id").alias("event_id"),
        F.col("e.value").alias("value"),
        F.col("e.attrs")["v"].alias("attr"),
    )


def expected(
    spark: SparkSession, sequences: dict[tuple[str, str], list[tuple[str, str]]]
) -> DataFrame:
    data = [
        (region, user, position, event_id, value, value)
        for (region, user), items in sequences.items()
        for position, (event_id, value) in enumerate(items)
    ]
    schema = (
        "region STRING, user_id STRING, position INT, event_id STRING, value STRING, attr STRING"
    )
    return spark.createDataFrame(data, schema)


def assert_sequences(spark: SparkSession, path: Path, batches: list[list[Event]]) -> None:
    assert_df_equality(
        stored(spark, path),
        expected(spark, reference(batches)),
        ignore_row_order=True,
        ignore_nullable=True,
    )


FIRST: list[Event] = [
    ("eu", "a", "a1", 10, "x"),
    ("eu", "a", "a2", 20, "x"),
    ("eu", "a", "a3", 30, "x"),
    ("eu", "b", "b1", 10, "x"),
    ("eu", "b", "b2", 5, "x"),
    ("us", "a", "usa1", 1, "x"),  # same user id, other region: another group
]
SECOND: list[Event] = [
    ("eu", "a", "a4", 40, "y"),
    ("eu", "a", "a0", 0, "y"),  # older than every kept event: not kept
    ("eu", "a", "a5", 25, "y"),  # between kept events
    ("eu", "c", "c1", 7, "y"),  # a new group
    ("eu", "c", "c1", 7, "y"),  # redelivered within the batch
]


def test_each_group_keeps_its_last_events_oldest_first(spark: SparkSession, tmp_path: Path) -> None:
    target = sink(tmp_path / "seq")
    assert target.write(spark, rows(spark, FIRST), txn=None, user_metadata="{}") == 3
    assert_sequences(spark, tmp_path / "seq", [FIRST])
    before = spark.read.format("delta").load(str(tmp_path / "seq"))
    untouched = before.where("user_id = 'b'").select("events", "_updated_at").collect()

    # Sequences written: eu/a updated, eu/c inserted; eu/b and us/a are not in the batch.
    assert target.write(spark, rows(spark, SECOND), txn=None, user_metadata="{}") == 2
    assert_sequences(spark, tmp_path / "seq", [FIRST, SECOND])
    after = spark.read.format("delta").load(str(tmp_path / "seq"))
    assert after.where("user_id = 'b'").select("events", "_updated_at").collect() == untouched


def test_a_refold_replaces_events_in_place_and_a_replay_changes_nothing(
    spark: SparkSession, tmp_path: Path
) -> None:
    target = sink(tmp_path / "seq")
    target.write(spark, rows(spark, FIRST), txn=None, user_metadata="{}")
    target.write(spark, rows(spark, FIRST), txn=None, user_metadata="{}")  # a replay, no txn
    assert_sequences(spark, tmp_path / "seq", [FIRST])

    # A backfill reprocesses a2 with a new value: one item changes, none is added.
    corrected: list[Event] = [("eu", "a", "a2", 20, "fixed")]
    target.write(spark, rows(spark, corrected), txn=None, user_metadata="{}")
    assert_sequences(spark, tmp_path / "seq", [FIRST, corrected])
    sizes = stored(spark, tmp_path / "seq").groupBy("region", "user_id").count()
    assert {(r["region"], r["user_id"]): r["count"] for r in sizes.collect()} == {
        ("eu", "a"): 3,
        ("eu", "b"): 2,
        ("us", "a"): 1,
    }


def test_ties_are_ordered_by_key_whatever_the_arrival_order(
    spark: SparkSession, tmp_path: Path
) -> None:
    same_minute: list[Event] = [("eu", "t", f"t{i}", 50, "x") for i in (3, 1, 4, 2)]
    forward, backward = sink(tmp_path / "f"), sink(tmp_path / "b")
    for event in same_minute:
        forward.write(spark, rows(spark, [event]), txn=None, user_metadata="{}")
    for event in reversed(same_minute):
        backward.write(spark, rows(spark, [event]), txn=None, user_metadata="{}")
    assert_sequences(spark, tmp_path / "f", [same_minute])
    assert_df_equality(
        stored(spark, tmp_path / "f"), stored(spark, tmp_path / "b"), ignore_row_order=True
    )


def test_a_retried_batch_with_the_same_txn_is_skipped(spark: SparkSession, tmp_path: Path) -> None:
    target = sink(tmp_path / "seq")
    txn = Txn("sequence-test", 0)
    assert target.write(spark, rows(spark, FIRST), txn=txn, user_metadata="{}") == 3
    assert target.write(spark, rows(spark, SECOND), txn=txn, user_metadata="{}") == 0
    assert_sequences(spark, tmp_path / "seq", [FIRST])


def test_a_partitioned_table_merges_only_the_partitions_a_batch_touches(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = tmp_path / "seq"
    target = sink(path, ("region",))
    target.write(spark, rows(spark, FIRST), txn=None, user_metadata="{}")
    # The eu partition's files disappear: a merge that read them would fail.
    for parquet in (path / "region=eu").glob("*.parquet"):
        parquet.unlink()
    only_us: list[Event] = [("us", "a", "usa2", 2, "z")]

    assert target.write(spark, rows(spark, only_us), txn=None, user_metadata="{}") == 1

    us = {k: v for k, v in reference([FIRST, only_us]).items() if k[0] == "us"}
    assert_df_equality(
        stored(spark, path).where("region = 'us'"),
        expected(spark, us),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_the_table_holds_one_row_per_group_with_the_item_schema(
    spark: SparkSession, tmp_path: Path
) -> None:
    sink(tmp_path / "seq").write(spark, rows(spark, FIRST), txn=None, user_metadata="{}")
    table = spark.read.format("delta").load(str(tmp_path / "seq"))
    assert table.columns == ["region", "user_id", "events", "_updated_at"]
    item = table.schema["events"].dataType.elementType  # type: ignore[attr-defined]
    assert item.fieldNames() == [
        "event_id",
        "event_time",
        "value",
        "attrs",
        "_executor",
        "_executor_version",
        "_source",
        "_ingested_at",
        "_run_id",
    ]
    assert table.count() == len({(e[0], e[1]) for e in FIRST})


def test_a_correction_older_than_the_batchs_newest_events_still_replaces_its_version(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Only a batch's newest LENGTH events per group can be kept, but every event of the batch
    # replaces its stored version: here a2's time was corrected to before everything else.
    target = sink(tmp_path / "seq")
    first: list[Event] = [("eu", "a", "a1", 10, "x"), ("eu", "a", "a2", 90, "x")]
    target.write(spark, rows(spark, first), txn=None, user_metadata="{}")
    second: list[Event] = [
        ("eu", "a", "a2", 1, "corrected"),
        *[("eu", "a", f"n{i}", 50 + i, "y") for i in range(LENGTH)],
    ]
    target.write(spark, rows(spark, second), txn=None, user_metadata="{}")
    assert_sequences(spark, tmp_path / "seq", [first, second])
    assert "a2" not in {r["event_id"] for r in stored(spark, tmp_path / "seq").collect()}


def test_a_table_made_for_another_configuration_is_refused(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = tmp_path / "seq"
    sink(path).write(spark, rows(spark, FIRST), txn=None, user_metadata="{}")
    contract = OutputContract(COLUMNS, key=("event_id",))
    by_user = SequenceFold(("user_id",), ("event_time",), LENGTH, "events", ("event_id",))
    regrouped = SequenceSink(TableRef(path=str(path)), contract, fold=by_user)
    with pytest.raises(PipelineRunError) as info:
        regrouped.write(spark, rows(spark, SECOND), txn=None, user_metadata="{}")
    assert info.value.error_class == "SEQUENCE_TABLE_MISMATCH"
    assert_sequences(spark, path, [FIRST])  # nothing folded into the wrong groups
