"""Offline tables joined as configured: on their keys, and as of the event time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.engine import build_config, config_dict, raw, registry_with, write_source

from spark_enrich import (
    AsOfColumns,
    EnrichContext,
    Executor,
    ExecutorContractError,
    Pipeline,
    TableSpec,
    executor,
)

EVENTS = "event_id STRING, user_id STRING, event_time TIMESTAMP"
JOINED = f"{EVENTS}, country STRING"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def events(spark: SparkSession, *rows: tuple[str, str | None, str]) -> DataFrame:
    return spark.createDataFrame([(e, u, ts(t)) for e, u, t in rows], EVENTS)


def history(spark: SparkSession) -> DataFrame:
    """u1 lived in FR from January, in DE from February; u2 in US from mid-January."""
    return spark.createDataFrame(
        [
            ("u1", "FR", ts("2026-01-01 00:00:00")),
            ("u1", "DE", ts("2026-02-01 00:00:00")),
            ("u2", "US", ts("2026-01-15 00:00:00")),
        ],
        "user_id STRING, country STRING, valid_from TIMESTAMP",
    )


def context(table: DataFrame, spec: TableSpec | None) -> EnrichContext:
    specs = {"users": spec} if spec else None
    return EnrichContext({"users": lambda: table}, executor="t", specs=specs)


AS_OF = TableSpec(keys=("user_id",), as_of=AsOfColumns("event_time", "valid_from"))

EVENTS_ACROSS_VERSIONS = (
    ("before-first", "u1", "2025-12-31 23:59:59"),
    ("in-first", "u1", "2026-01-10 00:00:00"),
    ("at-second-start", "u1", "2026-02-01 00:00:00"),
    ("after-last", "u1", "2026-06-01 00:00:00"),
    ("u2-too-early", "u2", "2026-01-14 00:00:00"),
    ("u2-valid", "u2", "2026-01-15 00:00:00"),
    ("unknown-user", "u9", "2026-01-10 00:00:00"),
    ("no-user", None, "2026-01-10 00:00:00"),
)


def test_as_of_joins_the_row_valid_at_the_event_time_until_the_next_row(
    spark: SparkSession,
) -> None:
    ctx = context(history(spark), AS_OF)

    joined = ctx.join("users", events(spark, *EVENTS_ACROSS_VERSIONS))

    country = {
        "before-first": None,
        "in-first": "FR",
        "at-second-start": "DE",
        "after-last": "DE",
        "u2-too-early": None,
        "u2-valid": "US",
        "unknown-user": None,
        "no-user": None,
    }
    expected = spark.createDataFrame(
        [(e, u, ts(t), country[e]) for e, u, t in EVENTS_ACROSS_VERSIONS], JOINED
    )
    assert_df_equality(joined, expected, ignore_row_order=True)


def test_inner_as_of_join_drops_events_without_a_valid_row(spark: SparkSession) -> None:
    ctx = context(history(spark), AS_OF)

    joined = ctx.join("users", events(spark, *EVENTS_ACROSS_VERSIONS), how="inner")

    expected = spark.createDataFrame(
        [
            ("in-first", "u1", ts("2026-01-10 00:00:00"), "FR"),
            ("at-second-start", "u1", ts("2026-02-01 00:00:00"), "DE"),
            ("after-last", "u1", ts("2026-06-01 00:00:00"), "DE"),
            ("u2-valid", "u2", ts("2026-01-15 00:00:00"), "US"),
        ],
        JOINED,
    )
    assert_df_equality(joined, expected, ignore_row_order=True)


def test_as_of_with_an_end_column_leaves_gaps_and_excludes_the_end(
    spark: SparkSession,
) -> None:
    table = spark.createDataFrame(
        [
            ("u1", "FR", ts("2026-01-01 00:00:00"), ts("2026-01-20 00:00:00")),
            ("u1", "DE", ts("2026-02-01 00:00:00"), None),
        ],
        "user_id STRING, country STRING, since TIMESTAMP, until TIMESTAMP",
    )
    spec = TableSpec(keys=("user_id",), as_of=AsOfColumns("event_time", "since", "until"))
    rows = (
        ("in-first", "u1", "2026-01-19 23:59:59"),
        ("at-first-end", "u1", "2026-01-20 00:00:00"),
        ("in-gap", "u1", "2026-01-25 00:00:00"),
        ("open-ended", "u1", "2027-01-01 00:00:00"),
    )

    joined = context(table, spec).join("users", events(spark, *rows))

    country = {"in-first": "FR", "at-first-end": None, "in-gap": None, "open-ended": "DE"}
    expected = spark.createDataFrame([(e, u, ts(t), country[e]) for e, u, t in rows], JOINED)
    assert_df_equality(joined, expected, ignore_row_order=True)


def test_without_as_of_joins_on_every_key(spark: SparkSession) -> None:
    table = spark.createDataFrame(
        [("u1", "web", "FR"), ("u1", "ios", "DE"), ("u2", "web", "US")],
        "user_id STRING, app STRING, country STRING",
    )
    evts = spark.createDataFrame(
        [("e1", "u1", "ios"), ("e2", "u2", "ios"), ("e3", "u2", "web")],
        "event_id STRING, user_id STRING, app STRING",
    )
    spec = TableSpec(keys=("user_id", "app"))

    joined = context(table, spec).join("users", evts)

    expected = spark.createDataFrame(
        [("e1", "u1", "ios", "DE"), ("e2", "u2", "ios", None), ("e3", "u2", "web", "US")],
        "event_id STRING, user_id STRING, app STRING, country STRING",
    )
    assert_df_equality(joined, expected, ignore_row_order=True)


def test_broadcast_hint_follows_the_configuration(spark: SparkSession) -> None:
    evts = events(spark, ("e1", "u1", "2026-01-10 00:00:00"))

    def plan(spec: TableSpec) -> str:
        joined = context(history(spark), spec).join("users", evts)
        return str(joined._jdf.queryExecution().optimizedPlan().toString())

    hinted = TableSpec(keys=AS_OF.keys, as_of=AS_OF.as_of, broadcast=True)
    assert "strategy=broadcast" in plan(hinted)
    assert "strategy=broadcast" not in plan(AS_OF)


def test_join_names_missing_configured_columns(spark: SparkSession) -> None:
    spec = TableSpec(keys=("user_id",), as_of=AsOfColumns("seen_at", "valid_since"))
    ctx = context(history(spark), spec)

    with pytest.raises(ExecutorContractError) as raised:
        ctx.join("users", events(spark, ("e1", "u1", "2026-01-10 00:00:00")))

    assert raised.value.error_class == "TABLE_JOIN_COLUMNS_MISSING"
    assert raised.value.message_parameters["missing_in_events"] == ["seen_at"]
    assert raised.value.message_parameters["missing_in_table"] == ["valid_since"]


def test_join_refuses_table_columns_that_the_events_already_have(spark: SparkSession) -> None:
    evts = events(spark, ("e1", "u1", "2026-01-10 00:00:00")).withColumn("country", F.lit("X"))

    with pytest.raises(ExecutorContractError) as raised:
        context(history(spark), AS_OF).join("users", evts)

    assert raised.value.error_class == "TABLE_JOIN_COLUMN_CLASH"
    assert raised.value.message_parameters["columns"] == ["country"]


def test_join_needs_configured_keys_and_a_declared_table(spark: SparkSession) -> None:
    evts = events(spark, ("e1", "u1", "2026-01-10 00:00:00"))

    with pytest.raises(ExecutorContractError) as no_spec:
        context(history(spark), None).join("users", evts)
    with pytest.raises(ExecutorContractError) as undeclared:
        context(history(spark), AS_OF).join("pins", evts)

    assert no_spec.value.error_class == "TABLE_WITHOUT_KEYS"
    assert undeclared.value.error_class == "UNDECLARED_TABLE"


def test_join_refuses_kinds_that_add_rows_without_an_event(spark: SparkSession) -> None:
    evts = events(spark, ("e1", "u1", "2026-01-10 00:00:00"))

    with pytest.raises(ValueError, match="'left' or 'inner'"):
        context(history(spark), AS_OF).join("users", evts, how="outer")  # type: ignore[arg-type]


class Located(Executor):
    """Clicks whose ``value`` is the country of ``x`` (a user) at the event's time."""

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        return ctx.join("homes", df.withColumnRenamed("x", "user_id"))

    def normalise(self, df: DataFrame) -> DataFrame:
        return df.withColumns(
            {
                "event_date": F.to_date("event_time"),
                "value": F.coalesce(F.col("country"), F.lit("unknown")),
            }
        )


def homes_pipeline(
    spark: SparkSession, tmp_path: Path, cls: type[Executor], payloads: list[str]
) -> Pipeline:
    """A pipeline whose one executor ``cls`` (for clicks) joins the ``homes`` table (users'
    homes over time, as of each event's time) read from ``tmp_path``."""
    history(spark).withColumnRenamed("valid_from", "moved_in").write.format("delta").save(
        str(tmp_path / "homes")
    )
    registry = registry_with()
    executor(
        name="located", version="1.0", event_types=["click"], tables=["homes"], registry=registry
    )(cls)
    write_source(spark, tmp_path / "raw", payloads)
    table = {
        "name": "homes",
        "path": str(tmp_path / "homes"),
        "keys": ["user_id"],
        "as_of": {"event_time": "event_time", "valid_from": "moved_in"},
    }
    data = config_dict(tmp_path, ["located"], enrichments={"tables": [table]})
    return Pipeline(build_config(data, registry), spark=spark, registry=registry)


def test_a_pipeline_applies_the_configured_as_of(spark: SparkSession, tmp_path: Path) -> None:
    pipeline = homes_pipeline(
        spark,
        tmp_path,
        Located,
        [
            raw("jan", x="u1", event_time="2026-01-10T00:00:00Z"),
            raw("feb", x="u1", event_time="2026-02-10T00:00:00Z"),
            raw("early", x="u2", event_time="2026-01-10T00:00:00Z"),
        ],
    )

    pipeline.run_batch()

    values = {
        (r.event_id, r.value) for r in pipeline.output().select("event_id", "value").collect()
    }
    assert values == {("jan", "FR"), ("feb", "DE"), ("early", "unknown")}


class HomedOnly(Executor):
    """Clicks of users with a known home only: an inner join drops the others in enrich."""

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        return ctx.join("homes", df.withColumnRenamed("x", "user_id"), how="inner")

    def normalise(self, df: DataFrame) -> DataFrame:
        return df.withColumns({"event_date": F.to_date("event_time"), "value": F.col("country")})


def test_events_an_inner_join_drops_are_counted_as_filtered(
    spark: SparkSession, tmp_path: Path
) -> None:
    pipeline = homes_pipeline(
        spark,
        tmp_path,
        HomedOnly,
        [
            raw("known", x="u1", event_time="2026-02-10T00:00:00Z"),
            raw("nobody", x="u9", event_time="2026-02-10T00:00:00Z"),  # no home: dropped
        ],
    )

    (batch,) = pipeline.run_batch().batches

    assert batch.violations() == []
    (counts,) = batch.executors
    assert (counts.input, counts.output, counts.filtered, counts.dead_lettered) == (2, 1, 1, 0)
    assert [r.event_id for r in pipeline.output().select("event_id").collect()] == ["known"]
