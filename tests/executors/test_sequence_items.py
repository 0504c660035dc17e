"""The sequence_items executor on hand-written enriched events."""

from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from spark_enrich.testing import run_stages
from spark_enrich_examples import SequenceItems

SCHEMA = "event_id STRING, event_type STRING, item_id STRING, query STRING, _se_meta STRING"


def frame(spark: SparkSession, rows: list[tuple[str, str, str | None, str | None]]) -> DataFrame:
    return spark.createDataFrame([(*r, f"meta-{r[0]}") for r in rows], SCHEMA)


def test_declares_every_enriched_event_type() -> None:
    spec = SequenceItems.spec
    assert (spec.name, spec.version, spec.tables) == ("sequence_items", "1.0.0", ())
    assert set(spec.event_types) == {
        "pin_click",
        "pin_save",
        "pin_closeup",
        "pin_impression",
        "search_query",
    }


def test_keeps_events_with_a_token_and_adds_it(spark: SparkSession) -> None:
    rows = [
        ("click", "pin_click", "p1", None),
        ("search", "search_query", None, "red shoes"),
        ("nothing", "pin_save", None, None),
        ("search-without-query", "search_query", "p2", None),  # its pin is not its token
        ("pin-without-pin", "pin_click", None, "red shoes"),  # nor is a pin event's query
    ]
    out = run_stages(SequenceItems(), frame(spark, rows)).featurise
    expected = spark.createDataFrame(
        [
            ("click", "pin_click", "p1", None, "meta-click", "p1"),
            ("search", "search_query", None, "red shoes", "meta-search", "q:red shoes"),
        ],
        f"{SCHEMA}, token STRING",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)
