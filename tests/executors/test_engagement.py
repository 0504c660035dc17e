"""The engagement executor, stage by stage, on hand-written events."""

from __future__ import annotations

from datetime import date

import pytest
from chispa import assert_df_equality
from pydantic import ValidationError
from pyspark.sql import DataFrame, SparkSession
from support.executors import (
    EVENT_COLUMNS,
    PINS_SCHEMA,
    USERS_SCHEMA,
    contract_frame,
    contract_of,
    event,
    events_frame,
    meta,
    utc,
)

from spark_enrich import EnrichContext, TableSpec
from spark_enrich.testing import run_stages
from spark_enrich_examples import Engagement, EngagementParams

MONDAY_0030 = utc("2026-01-05 00:30:00")


def pins(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [
            ("p1", "b1", "food", "en", utc("2025-12-30 10:00:00")),
            ("p2", "b2", "travel", "de", utc("2026-01-05 23:00:00")),
            # p3 appears twice: the engine serves one row per key, so no event is doubled.
            ("p3", "b3", "diy", "en", utc("2025-06-01 00:00:00")),
            ("p3", "b3", "art", "en", utc("2025-06-01 00:00:00")),
        ],
        PINS_SCHEMA,
    )


def users(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [("u1", "US", utc("2024-01-01 00:00:00")), ("u2", "DE", utc("2025-02-03 04:05:06"))],
        USERS_SCHEMA,
    )


def tables(spark: SparkSession) -> dict[str, DataFrame]:
    return {"pins": pins(spark), "users": users(spark)}


# As the demo pipeline declares them (enrichments.tables[].keys): the engine serves each table
# with one row per key.
JOINS = {"pins": TableSpec(keys=("pin_id",)), "users": TableSpec(keys=("user_id",))}


def context(spark: SparkSession) -> EnrichContext:
    return EnrichContext(
        {"pins": lambda: pins(spark), "users": lambda: users(spark)},
        executor="engagement",
        specs=JOINS,
    )


def test_declares_name_version_event_types_and_tables() -> None:
    spec = Engagement.spec
    assert (spec.name, spec.version) == ("engagement", "1.0.0")
    assert set(spec.event_types) == {"pin_click", "pin_save", "pin_closeup"}
    assert set(spec.tables) == {"pins", "users"}
    assert spec.params_model is EngagementParams


def test_params_forbid_unknown_keys_and_have_documented_defaults() -> None:
    assert EngagementParams() == EngagementParams(
        min_closeup_ms=500, bot_pattern="(?i)(bot|crawler|spider|headless)"
    )
    with pytest.raises(ValidationError):
        EngagementParams(min_closeup_ms=500, min_dwell=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        EngagementParams(min_closeup_ms=-1)


def test_filter_drops_bots_short_closeups_and_events_without_pin(spark: SparkSession) -> None:
    rows = {
        "human": event("human"),
        "googlebot": event(
            "googlebot", user_agent="Googlebot/2.1 (+http://www.google.com/bot.html)"
        ),
        "headless": event("headless", user_agent="Mozilla/5.0 HeadlessChrome/120.0"),
        "no-agent": event("no-agent", user_agent=None),
        "closeup-499": event("closeup-499", event_type="pin_closeup", dwell_ms=499),
        "closeup-500": event("closeup-500", event_type="pin_closeup", dwell_ms=500),
        "closeup-no-dwell": event("closeup-no-dwell", event_type="pin_closeup"),
        "save-no-pin": event("save-no-pin", event_type="pin_save", pin_id=None),
        "save-no-dwell": event("save-no-dwell", event_type="pin_save"),
        "short-click": event("short-click", dwell_ms=10),
    }
    kept = ["human", "no-agent", "closeup-500", "save-no-dwell", "short-click"]

    source = events_frame(spark, *rows.values())
    actual = run_stages(Engagement(), source, tables=tables(spark), joins=JOINS).filter

    expected = events_frame(spark, *(rows[k] for k in kept))
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_filter_follows_params(spark: SparkSession) -> None:
    rows = [
        event("closeup-999", event_type="pin_closeup", dwell_ms=999),
        event("closeup-1000", event_type="pin_closeup", dwell_ms=1000),
        event("googlebot", user_agent="Googlebot/2.1"),
        event("curl", user_agent="curl/8.5.0"),
    ]
    params = EngagementParams(min_closeup_ms=1000, bot_pattern="^curl/")

    source = events_frame(spark, *rows)
    actual = run_stages(Engagement(params), source, tables=tables(spark), joins=JOINS).filter

    expected = events_frame(spark, rows[1], rows[2])
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_featurise_buckets_dwell_at_the_boundaries_and_computes_hour_of_week(
    spark: SparkSession,
) -> None:
    dwells: dict[str, int | None] = {
        "d0": 0, "d999": 999, "d1000": 1000, "d4999": 4999, "d5000": 5000,
        "d29999": 29999, "d30000": 30000, "dnull": None,
    }  # fmt: skip
    rows = [event(k, dwell_ms=v) for k, v in dwells.items()]
    rows += [
        event("sunday-late", event_time=utc("2026-01-11 23:59:59.999")),
        event("wednesday", event_time=utc("2026-01-07 13:15:00")),
        event("monday-next", event_time=utc("2026-01-12 00:00:00")),
    ]
    source = events_frame(spark, *rows)

    actual = Engagement().featurise(source)

    expected = spark.createDataFrame(
        [
            ("d0", "<1s", 0),
            ("d999", "<1s", 0),
            ("d1000", "1-5s", 0),
            ("d4999", "1-5s", 0),
            ("d5000", "5-30s", 0),
            ("d29999", "5-30s", 0),
            ("d30000", "30s+", 0),
            ("dnull", None, 0),
            ("sunday-late", None, 167),
            ("wednesday", None, 2 * 24 + 13),
            ("monday-next", None, 0),
        ],
        "event_id STRING, dwell_bucket STRING, hour_of_week INT",
    )
    assert_df_equality(
        actual.select("event_id", "dwell_bucket", "hour_of_week"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    # Featurise only adds: every input column, _se_meta included, is unchanged.
    assert_df_equality(
        actual.select(*EVENT_COLUMNS), source, ignore_row_order=True, ignore_nullable=True
    )


def test_time_features_are_utc_whatever_the_session_time_zone(spark: SparkSession) -> None:
    source = events_frame(spark, event("sunday-late", event_time=utc("2026-01-11 23:30:00")))
    previous = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
    try:
        out = Engagement().normalise(Engagement().featurise(source))
        row = out.select("hour_of_week", "event_date").first()
    finally:
        spark.conf.set("spark.sql.session.timeZone", str(previous))
    assert row is not None
    assert (row.hour_of_week, row.event_date) == (167, date(2026, 1, 11))


def test_enrich_joins_pins_and_users(spark: SparkSession) -> None:
    source = events_frame(
        spark,
        event("known", user_id="u1", pin_id="p1", event_time=MONDAY_0030),
        event("own-board", user_id="u2", pin_id="p1", board_id="b9"),
        event("unknown", user_id="u404", pin_id="p404"),
        event("next-day", user_id="u2", pin_id="p2", event_time=utc("2026-01-06 00:10:00")),
        event("repeated-pin", pin_id="p3", event_time=utc("2025-06-01 12:00:00")),
    )

    actual = Engagement().enrich(source, context(spark))

    expected = spark.createDataFrame(
        [
            # pin p1 created 2025-12-30: 6 calendar days before 2026-01-05.
            ("known", "b1", "food", "en", 6, "US", meta("known")),
            # the event's own board wins over the pin's board.
            ("own-board", "b9", "food", "en", 6, "DE", meta("own-board")),
            ("unknown", None, None, None, None, None, meta("unknown")),
            # created 23:00 the day before: one calendar day old after 70 minutes.
            ("next-day", "b2", "travel", "de", 1, "DE", meta("next-day")),
            # one row per pin id: the smallest values win, deterministically.
            ("repeated-pin", "b3", "art", "en", 0, "US", meta("repeated-pin")),
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


def test_enrich_uses_only_declared_tables(spark: SparkSession) -> None:
    from spark_enrich import ExecutorContractError

    ctx = EnrichContext({"pins": lambda: pins(spark)}, executor="engagement")
    with pytest.raises(ExecutorContractError) as info:
        Engagement().enrich(events_frame(spark, event("e")), ctx)
    assert info.value.error_class == "UNDECLARED_TABLE"


def test_all_stages_produce_the_output_contract(spark: SparkSession) -> None:
    source = events_frame(
        spark,
        event("click", user_id="u1", pin_id="p1", dwell_ms=1500, position=3),
        event(
            "closeup",
            event_type="pin_closeup",
            user_id="u9",
            pin_id="p404",
            dwell_ms=600,
            surface="search",
            event_time=utc("2026-01-11 23:10:00"),
        ),
        event("bot", user_agent="SomeCrawler/1.0"),
        event(
            "save",
            event_type="pin_save",
            user_id="u2",
            pin_id="p2",
            board_id="b7",
            event_time=utc("2026-01-06 00:10:00"),
        ),
    )
    out = run_stages(Engagement(), source, tables=tables(spark), joins=JOINS).normalise

    expected = contract_frame(
        spark,
        (
            "click", "u1", "pin_click", MONDAY_0030, date(2026, 1, 5), "p1", "b1", "food",
            "en", "home_feed", 1500, "1-5s", 3, None, None, 0, 6, "US",
        ),
        (
            "closeup", "u9", "pin_closeup", utc("2026-01-11 23:10:00"), date(2026, 1, 11),
            "p404", None, None, None, "search", 600, "<1s", None, None, None, 167, None, None,
        ),
        (
            "save", "u2", "pin_save", utc("2026-01-06 00:10:00"), date(2026, 1, 6), "p2",
            "b7", "travel", "de", "home_feed", None, None, None, None, None, 24, 1, "DE",
        ),
    )  # fmt: skip
    assert_df_equality(contract_of(out), expected, ignore_row_order=True, ignore_nullable=True)


def test_params_of_another_executor_are_a_wiring_error(spark: SparkSession) -> None:
    from spark_enrich_examples import SearchParams

    with pytest.raises(TypeError, match="expected EngagementParams params, got SearchParams"):
        Engagement(SearchParams()).filter(events_frame(spark, event("e")))
