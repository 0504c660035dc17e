"""The impressions executor, stage by stage, on hand-written events."""

from __future__ import annotations

from datetime import date

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from support.executors import (
    EVENT_COLUMNS,
    PINS_SCHEMA,
    contract_frame,
    contract_of,
    event,
    events_frame,
    meta,
    utc,
)

from spark_enrich import EnrichContext
from spark_enrich.testing import run_stages
from spark_enrich_examples import Impressions, ImpressionsParams


def impression(event_id: str, position: int | None = 0, **fields: object) -> dict[str, object]:
    return event(event_id, event_type="pin_impression", position=position, **fields)


def pins(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [("p1", "b1", "food", "en", utc("2025-12-30 10:00:00"))], PINS_SCHEMA
    )


def context(spark: SparkSession) -> EnrichContext:
    return EnrichContext({"pins": lambda: pins(spark)}, executor="impressions")


def test_declares_name_version_event_types_and_tables() -> None:
    spec = Impressions.spec
    assert (spec.name, spec.version) == ("impressions", "1.0.0")
    assert (spec.event_types, spec.tables) == (("pin_impression",), ("pins",))
    assert ImpressionsParams().max_position == 100


def test_filter_keeps_positions_zero_to_max_and_drops_bots_and_missing_pins(
    spark: SparkSession,
) -> None:
    rows = {
        "pos-0": impression("pos-0", 0),
        "pos-100": impression("pos-100", 100),
        "pos-101": impression("pos-101", 101),
        "pos-neg": impression("pos-neg", -1),
        "pos-null": impression("pos-null", None),
        "no-pin": impression("no-pin", 5, pin_id=None),
        "bot": impression("bot", 5, user_agent="bingbot/2.0"),
    }

    source = events_frame(spark, *rows.values())
    tables = {"pins": pins(spark)}
    default = run_stages(Impressions(), source, tables=tables).filter
    top_ten_only = Impressions(ImpressionsParams(max_position=10))
    top_ten = run_stages(top_ten_only, source, tables=tables).filter

    assert_df_equality(
        default,
        events_frame(spark, rows["pos-0"], rows["pos-100"]),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_df_equality(
        top_ten, events_frame(spark, rows["pos-0"]), ignore_row_order=True, ignore_nullable=True
    )


def test_featurise_adds_hour_of_week(spark: SparkSession) -> None:
    source = events_frame(
        spark,
        impression("monday", event_time=utc("2026-01-05 00:00:00")),
        impression("saturday", event_time=utc("2026-01-10 18:45:00"), dwell_ms=1200),
    )

    actual = Impressions().featurise(source)

    expected = spark.createDataFrame(
        [("monday", 0, None), ("saturday", 5 * 24 + 18, "1-5s")],
        "event_id STRING, hour_of_week INT, dwell_bucket STRING",
    )
    assert_df_equality(
        actual.select("event_id", "hour_of_week", "dwell_bucket"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_df_equality(
        actual.select(*EVENT_COLUMNS), source, ignore_row_order=True, ignore_nullable=True
    )


def test_enrich_joins_pins_but_not_users(spark: SparkSession) -> None:
    source = events_frame(
        spark,
        impression("known", pin_id="p1"),
        impression("unknown", pin_id="p9", board_id="b5"),
    )

    actual = Impressions().enrich(source, context(spark))

    expected = spark.createDataFrame(
        [
            ("known", "b1", "food", "en", 6, None, meta("known")),
            ("unknown", "b5", None, None, None, None, meta("unknown")),
        ],
        "event_id STRING, board_id STRING, category STRING, language STRING, "
        "pin_age_days INT, user_country STRING, _se_meta STRUCT<topic: STRING, source_id: STRING>",
    )
    assert_df_equality(
        actual.select(
            "event_id",
            "board_id",
            "category",
            "language",
            "pin_age_days",
            "user_country",
            "_se_meta",
        ),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_all_stages_produce_the_output_contract(spark: SparkSession) -> None:
    source = events_frame(
        spark,
        impression("i1", 7, pin_id="p1", surface="related"),
        impression("i2", 200, pin_id="p1"),
    )
    out = run_stages(Impressions(), source, tables={"pins": pins(spark)}).normalise

    expected = contract_frame(
        spark,
        (
            "i1", "u1", "pin_impression", utc("2026-01-05 00:30:00"), date(2026, 1, 5), "p1",
            "b1", "food", "en", "related", None, None, 7, None, None, 0, 6, None,
        ),
    )  # fmt: skip
    assert_df_equality(contract_of(out), expected, ignore_row_order=True, ignore_nullable=True)
