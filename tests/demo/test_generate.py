"""The demo data generator: deterministic, realistic mix, the promised bad and duplicate rows.

Rows are classified here with Spark's own JSON parser, independently of how the generator
builds them, so these tests state what a consumer of the topic would see.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_enrich.demo.generate import (
    generate_offline_tables,
    generate_raw_events,
    id_spaces,
    write_demo_data,
)

N = 20_000
EVENT_TYPES = ["pin_impression", "pin_click", "pin_save", "pin_closeup", "search_query"]
FIELDS = [
    "event_id", "event_type", "user_id", "event_time", "pin_id", "board_id", "surface",
    "dwell_ms", "query", "position", "user_agent",
]  # fmt: skip
REQUIRED = ["event_id", "event_type", "user_id", "event_time", "surface", "user_agent"]
BAD_CLASSES = [
    "malformed_json", "not_an_object", "missing_event_id", "missing_user_id",
    "unparseable_event_time", "wrong_type", "unknown_event_type",
]  # fmt: skip


def _get(v: Column, field: str, type_: str) -> Column:
    return F.try_variant_get(v, f"$.{field}", type_)


def classified(raw: DataFrame) -> DataFrame:
    """``raw`` plus ``kind`` (``good`` or the bad class) and the parsed fields of good rows."""
    v = F.try_parse_json(F.col("value"))
    keys = F.when(F.schema_of_variant(v).startswith("OBJECT"), F.json_object_keys("value"))
    kind = (
        F.when(v.isNull(), "malformed_json")
        .when(~F.schema_of_variant(v).startswith("OBJECT"), "not_an_object")
        .when(_get(v, "event_id", "string").isNull(), "missing_event_id")
        .when(_get(v, "user_id", "string").isNull(), "missing_user_id")
        .when(_get(v, "event_time", "timestamp").isNull(), "unparseable_event_time")
        .when(
            _get(v, "dwell_ms", "string").isNotNull() & _get(v, "dwell_ms", "bigint").isNull(),
            "wrong_type",
        )
        .when(~_get(v, "event_type", "string").isin(EVENT_TYPES), "unknown_event_type")
        .otherwise("good")
    )
    parsed = {f: _get(v, f, "string") for f in FIELDS}
    parsed |= {
        "event_time": _get(v, "event_time", "timestamp"),
        "dwell_ms": _get(v, "dwell_ms", "bigint"),
        "position": _get(v, "position", "int"),
    }
    return raw.withColumns({"kind": kind, "keys": keys, **parsed})


@pytest.fixture(scope="module")
def raw(spark: SparkSession) -> DataFrame:
    return classified(generate_raw_events(spark, N, seed=7)).cache()


def test_same_seed_gives_the_same_rows_and_another_seed_other_rows(spark: SparkSession) -> None:
    first = generate_raw_events(spark, 2_000, seed=3)
    again = generate_raw_events(spark, 2_000, seed=3)
    other = generate_raw_events(spark, 2_000, seed=4)

    assert_df_equality(first, again, ignore_row_order=True)
    assert first.select("value").intersect(other.select("value")).count() == 0


def test_columns_are_topic_key_value_and_event_date(spark: SparkSession) -> None:
    schema = generate_raw_events(spark, 10).schema.simpleString()
    assert schema == "struct<topic:string,key:string,value:string,event_date:date>"


def test_about_one_percent_of_rows_are_bad_and_every_bad_kind_occurs(raw: DataFrame) -> None:
    counts = {r["kind"]: r["count"] for r in raw.groupBy("kind").count().collect()}
    bad = N - counts["good"]
    assert 0.007 * N <= bad <= 0.013 * N, counts
    assert set(counts) == {"good", *BAD_CLASSES}, counts


def test_about_one_percent_of_rows_repeat_an_earlier_value(raw: DataFrame) -> None:
    repeats = N - raw.select("topic", "key", "value").distinct().count()
    assert 0.007 * N <= repeats <= 0.013 * N


def test_event_type_mix_bots_blank_queries_and_short_closeups(raw: DataFrame) -> None:
    good = raw.where("kind = 'good'")
    total = good.count()
    shares = {
        r["event_type"]: r["count"] / total for r in good.groupBy("event_type").count().collect()
    }
    expected = {
        "pin_impression": 0.45, "pin_click": 0.25, "pin_save": 0.10, "pin_closeup": 0.08,
        "search_query": 0.12,
    }  # fmt: skip
    assert set(shares) == set(expected)
    for event_type, share in expected.items():
        assert abs(shares[event_type] - share) < 0.02, (event_type, shares)

    stats = good.agg(
        F.avg(F.col("user_agent").rlike("(?i)(bot|crawler|spider|headless)").cast("int")).alias(
            "bots"
        ),
        F.sum(
            ((F.col("event_type") == "search_query") & (F.trim(F.col("query")) == "")).cast("int")
        ).alias("blank_queries"),
        F.sum(
            ((F.col("event_type") == "pin_closeup") & (F.col("dwell_ms") < 500)).cast("int")
        ).alias("short_closeups"),
        F.sum(
            ((F.col("event_type") == "pin_impression") & (F.col("position") > 100)).cast("int")
        ).alias("deep_impressions"),
        F.count_distinct("user_id").alias("users"),
    ).first()
    assert stats is not None
    assert 0.01 <= stats["bots"] <= 0.03
    assert stats["blank_queries"] > 0
    assert stats["short_closeups"] > 0
    assert stats["deep_impressions"] > 0
    # ~1,000 users per 100k events.
    assert 150 <= stats["users"] <= 200


def test_good_rows_are_json_objects_with_the_event_fields(raw: DataFrame) -> None:
    good = raw.where("kind = 'good'")
    unknown_keys = F.size(F.array_except("keys", F.array(*map(F.lit, FIELDS))))
    missing = F.size(F.array_except(F.array(*map(F.lit, REQUIRED)), "keys"))
    is_search = F.col("event_type") == "search_query"
    problems = good.where(
        (unknown_keys > 0)
        | (missing > 0)
        # pin events name a pin; a search carries a query and no pin.
        | (~is_search & F.col("pin_id").isNull())
        | (is_search & (F.col("pin_id").isNotNull() | F.col("query").isNull()))
        # the topic follows the event type; the key is the user.
        | (F.col("topic") != F.when(is_search, "search").otherwise("engagement"))
        | (F.col("key") != F.col("user_id"))
        # times fall in the 7 days from 2026-01-01 UTC, and event_date is their date.
        | ~F.col("event_time").between(
            datetime(2026, 1, 1), datetime(2026, 1, 7, 23, 59, 59, 999000)
        )
        | (F.col("event_date") != F.to_date("event_time"))
    )
    assert problems.count() == 0
    assert good.count() > 0.98 * N


def test_bad_rows_are_bad_in_the_announced_ways(raw: DataFrame) -> None:
    samples = {
        r["kind"]: r["value"]
        for r in raw.where("kind != 'good'")
        .groupBy("kind")
        .agg(F.min("value").alias("value"))
        .collect()
    }
    assert samples["not_an_object"].startswith("[{")
    assert '"event_time":"yesterday"' in samples["unparseable_event_time"]
    assert '"dwell_ms":"abc"' in samples["wrong_type"]
    assert '"event_type":"pin_teleport"' in samples["unknown_event_type"]
    assert '"event_id"' not in samples["missing_event_id"]
    assert '"user_id"' not in samples["missing_user_id"]
    missing_user_keys = raw.where("kind = 'missing_user_id'").where(F.col("key").isNotNull())
    assert missing_user_keys.count() == 0


def test_about_95_percent_of_pin_events_name_a_pin_of_the_pins_table(
    spark: SparkSession, raw: DataFrame
) -> None:
    n_pins, n_users = id_spaces(N)
    pins, users = generate_offline_tables(spark, seed=7, n_pins=n_pins, n_users=n_users)
    pin_events = raw.where("kind = 'good' AND pin_id IS NOT NULL")
    hits = pin_events.join(pins, "pin_id", "left_semi").count()
    assert 0.93 <= hits / pin_events.count() <= 0.97
    # every user id of an event is in the users table.
    assert raw.where("kind = 'good'").join(users, "user_id", "left_anti").count() == 0


def test_offline_tables_have_one_row_per_id(spark: SparkSession) -> None:
    pins, users = generate_offline_tables(spark, seed=7, n_pins=3, n_users=2)

    assert pins.schema.simpleString() == (
        "struct<pin_id:string,board_id:string,category:string,language:string,created_at:timestamp>"
    )
    assert users.schema.simpleString() == (
        "struct<user_id:string,country:string,signup_time:timestamp>"
    )
    ids = spark.createDataFrame([("p00000000",), ("p00000001",), ("p00000002",)], "pin_id STRING")
    assert_df_equality(pins.select("pin_id"), ids, ignore_row_order=True, ignore_nullable=True)
    # created before the first event day, within a year.
    too_new_or_old = pins.where(
        ~F.col("created_at").between(
            datetime(2025, 1, 1), datetime(2025, 12, 31, 23, 59, 59, 999000)
        )
    )
    assert too_new_or_old.count() == 0
    expected_users = spark.createDataFrame([("u0000000",), ("u0000001",)], "user_id STRING")
    assert_df_equality(
        users.select("user_id"), expected_users, ignore_row_order=True, ignore_nullable=True
    )


def test_write_demo_data_writes_three_delta_tables_and_overwrites(
    spark: SparkSession, tmp_path: Path
) -> None:
    for _ in range(2):  # the second run replaces, never appends
        paths = write_demo_data(spark, tmp_path / "demo", 1_000, seed=1)

    assert set(paths) == {"raw", "pins", "users"}
    for path in paths.values():
        assert Path(path).parent == (tmp_path / "demo").resolve()
    raw = spark.read.format("delta").load(paths["raw"])
    assert_df_equality(
        raw,
        generate_raw_events(spark, 1_000, seed=1),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_column_order=True,
    )
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{paths['raw']}`").first()
    assert detail is not None
    assert detail["partitionColumns"] == ["event_date"]
    n_pins, n_users = id_spaces(1_000)
    assert spark.read.format("delta").load(paths["pins"]).count() == n_pins
    assert spark.read.format("delta").load(paths["users"]).count() == n_users
    dates = raw.select(F.min("event_date"), F.max("event_date")).first()
    assert tuple(dates or ()) == (date(2026, 1, 1), date(2026, 1, 7))
