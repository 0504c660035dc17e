"""The search executor, stage by stage, on hand-written events."""

from __future__ import annotations

from datetime import date

import pytest
from chispa import assert_df_equality
from pydantic import ValidationError
from pyspark.sql import DataFrame, SparkSession
from support.executors import (
    EVENT_COLUMNS,
    USERS_SCHEMA,
    contract_frame,
    contract_of,
    event,
    events_frame,
    meta,
    utc,
)

from spark_enrich import EnrichContext
from spark_enrich.testing import run_stages
from spark_enrich_examples import Search, SearchParams


def search(event_id: str, query: str | None, **fields: object) -> dict[str, object]:
    return event(
        event_id, event_type="search_query", pin_id=None, surface="search", query=query, **fields
    )


def users(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [("u1", "US", utc("2024-01-01 00:00:00")), ("u2", "FR", utc("2024-05-06 07:08:09"))],
        USERS_SCHEMA,
    )


def context(spark: SparkSession) -> EnrichContext:
    return EnrichContext({"users": lambda: users(spark)}, executor="search")


def test_declares_name_version_event_types_and_tables() -> None:
    spec = Search.spec
    assert (spec.name, spec.version, spec.event_types) == ("search", "1.0.0", ("search_query",))
    assert spec.tables == ("users",)
    with pytest.raises(ValidationError):
        SearchParams(min_chars=2)  # type: ignore[call-arg]


def test_filter_drops_bots_and_empty_or_too_short_queries(spark: SparkSession) -> None:
    rows = {
        "ok": search("ok", "cats"),
        "one-char": search("one-char", "a"),
        "padded": search("padded", "   b   "),
        "null": search("null", None),
        "empty": search("empty", ""),
        "spaces": search("spaces", "     "),
        "tabs": search("tabs", "\t\n \u00a0"),
        "spider": search("spider", "cats", user_agent="Baiduspider/2.0"),
    }

    source = events_frame(spark, *rows.values())
    tables = {"users": users(spark)}
    default = run_stages(Search(), source, tables=tables).filter
    two_chars = run_stages(Search(SearchParams(min_query_chars=2)), source, tables=tables).filter

    assert_df_equality(
        default,
        events_frame(spark, rows["ok"], rows["one-char"], rows["padded"]),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    # Length counts after normalisation: "   b   " is one character long.
    assert_df_equality(
        two_chars,
        events_frame(spark, rows["ok"]),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_featurise_normalises_and_tokenises_the_query(spark: SparkSession) -> None:
    source = events_frame(
        spark,
        search("messy", "  Summer\tOUTFITS  \n ideas "),
        search("accents", "Café  DÉCO"),
        search("nbsp", "red\u00a0shoes"),
        search("one-word", "Cats"),
        search("null", None),
        search("sunday", "x", event_time=utc("2026-01-04 23:00:00")),
    )

    actual = Search().featurise(source)

    expected = spark.createDataFrame(
        [
            ("messy", "summer outfits ideas", ["summer", "outfits", "ideas"], 0),
            ("accents", "café déco", ["café", "déco"], 0),
            ("nbsp", "red shoes", ["red", "shoes"], 0),
            ("one-word", "cats", ["cats"], 0),
            ("null", None, None, 0),
            ("sunday", "x", ["x"], 167),
        ],
        "event_id STRING, query STRING, query_tokens ARRAY<STRING>, hour_of_week INT",
    )
    assert_df_equality(
        actual.select("event_id", "query", "query_tokens", "hour_of_week"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    unchanged = [c for c in EVENT_COLUMNS if c != "query"]
    assert_df_equality(
        actual.select(*unchanged),
        source.select(*unchanged),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_enrich_adds_the_users_country(spark: SparkSession) -> None:
    source = events_frame(
        spark, search("known", "cats", user_id="u2"), search("unknown", "cats", user_id="u9")
    )

    actual = Search().enrich(source, context(spark))

    expected = spark.createDataFrame(
        [("known", "FR", meta("known")), ("unknown", None, meta("unknown"))],
        "event_id STRING, user_country STRING, _se_meta STRUCT<topic: STRING, source_id: STRING>",
    )
    assert_df_equality(
        actual.select("event_id", "user_country", "_se_meta"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_all_stages_produce_the_output_contract(spark: SparkSession) -> None:
    # A search event that (wrongly) carries pin fields: the contract says a search has none.
    source = events_frame(
        spark,
        search("q1", " Winter  Boots ", user_id="u1", position=2, board_id="b1", dwell_ms=40),
        search("blank", "  "),
    )
    out = run_stages(Search(), source, tables={"users": users(spark)}).normalise

    expected = contract_frame(
        spark,
        (
            "q1", "u1", "search_query", utc("2026-01-05 00:30:00"), date(2026, 1, 5), None,
            None, None, None, "search", None, None, 2, "winter boots", ["winter", "boots"], 0,
            None, "US",
        ),
    )  # fmt: skip
    assert_df_equality(contract_of(out), expected, ignore_row_order=True, ignore_nullable=True)
