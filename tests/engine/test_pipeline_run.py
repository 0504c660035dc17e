"""A pipeline built from a config, run in batch on hand-written raw events, end to end:
routing, accounting, conforming, dead letters, the merge sink and its idempotency, table
layout and commit metadata, preview and explain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.engine import (
    CONTRACT_COLUMNS,
    CONTRACT_DDL,
    build_config,
    config_dict,
    envelope,
    raw,
    registry_with,
    visible,
    write_source,
)

from spark_enrich import Executor, Pipeline
from spark_enrich.accounting import BatchReport

AT_10 = datetime(2026, 1, 5, 10, 0)
DAY = date(2026, 1, 5)
SECOND_DAY = date(2026, 1, 6)

PAYLOADS = [
    raw("e1", "click", "a"),  # clicks -> A
    raw("e1", "click", "a"),  # the same event again: merge keeps one
    raw("e2", "click", "drop"),  # clicks filters it
    raw("e7", "click", "b", n="7", event_time="2026-01-06T23:59:59Z"),  # clicks -> B, n 7
    raw("e3", "view", "v", n="12"),  # views -> v, "12" cast to 12
    raw("e4", "view", None),  # views: value null -> contract violation
    raw("e5", "view", "w", n="abc"),  # views: "abc" is no int -> contract violation
    raw("e6", "other", "z"),  # no executor handles "other": unrouted (counted)
    '{"event_id": "e8", "event_type": "click"',  # truncated JSON: decode error
]


@dataclass
class Run:
    pipeline: Pipeline
    first: BatchReport
    second: BatchReport
    sink_after_first: DataFrame
    base: Path


@pytest.fixture(scope="module")
def run(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Two batch runs over the same unchanged source."""
    base = tmp_path_factory.mktemp("pipeline-run")
    write_source(spark, base / "raw", PAYLOADS)
    registry = registry_with()
    data = config_dict(
        base,
        ["clicks", "views"],
        sink={
            "partition_by": ["event_date"],
            "properties": {"team": "engine", "delta.checkpointInterval": 5},
        },
    )
    pipeline = Pipeline(build_config(data, registry), spark=spark, registry=registry)
    first = pipeline.run_batch().batches[0]
    sink_after_first = visible(pipeline.output()).localCheckpoint()
    second = pipeline.run_batch().batches[0]
    return Run(pipeline, first, second, sink_after_first, base)


def test_router_counts_every_source_row(run: Run) -> None:
    report = run.first
    assert report.source_rows == 9
    assert report.decode_dead_lettered == {"decode_error": 1}
    assert (report.routed, report.unrouted) == (7, 1)
    assert report.source_rows == sum(report.decode_dead_lettered.values()) + report.routed + (
        report.unrouted
    )
    assert report.violations() == []


def test_each_executor_gets_its_event_types_and_balances(run: Run) -> None:
    counts = {e.executor: e for e in run.first.executors}
    clicks, views = counts["clicks"], counts["views"]
    assert (clicks.input, clicks.filtered, clicks.output, clicks.dead_lettered) == (4, 1, 3, 0)
    assert (views.input, views.filtered, views.output, views.dead_lettered) == (3, 0, 1, 2)
    for e in (clicks, views):
        assert e.input == e.output + e.filtered + e.dead_lettered
    assert (clicks.version, views.version) == ("1.0", "2.0")


def test_sink_holds_conformed_rows_once_each(spark: SparkSession, run: Run) -> None:
    expected = spark.createDataFrame(
        [
            ("e1", "click", AT_10, DAY, "A", None),
            ("e7", "click", datetime(2026, 1, 6, 23, 59, 59), SECOND_DAY, "B", 7),
            ("e3", "view", AT_10, DAY, "v", 12),
        ],
        CONTRACT_DDL,
    )
    assert_df_equality(run.sink_after_first, expected, ignore_row_order=True, ignore_nullable=True)
    assert run.first.sink_rows_added == 3


def test_sink_rows_carry_executor_and_version(spark: SparkSession, run: Run) -> None:
    actual = run.pipeline.output().select("event_id", "_executor", "_executor_version")
    expected = spark.createDataFrame(
        [("e1", "clicks", "1.0"), ("e7", "clicks", "1.0"), ("e3", "views", "2.0")],
        "event_id STRING, _executor STRING, _executor_version STRING",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_dead_letters_keep_reason_executor_and_raw_payload(spark: SparkSession, run: Run) -> None:
    actual = run.pipeline.dead_letters().select(
        "reason", "executor", "executor_version", "event_type",
        F.col("raw_payload").cast("string").alias("raw"),
    )  # fmt: skip
    expected = spark.createDataFrame(
        [
            ("contract_violation", "views", "2.0", "view", PAYLOADS[5]),
            ("contract_violation", "views", "2.0", "view", PAYLOADS[6]),
            ("decode_error", None, None, None, PAYLOADS[8]),
        ],
        "reason STRING, executor STRING, executor_version STRING, event_type STRING, raw STRING",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_second_run_of_the_same_batch_changes_nothing(run: Run) -> None:
    assert run.second.sink_rows_added == 0
    # Regression: the report claimed every dead letter as written again on a re-run.
    assert (run.first.dead_letters_written, run.second.dead_letters_written) == (3, 0)
    assert_df_equality(
        visible(run.pipeline.output()),
        run.sink_after_first,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert run.pipeline.dead_letters().count() == 3
    assert run.second.violations() == []


def test_partitioning_and_properties_come_from_config(spark: SparkSession, run: Run) -> None:
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{run.base / 'out'}`").first()
    assert detail is not None
    assert detail["partitionColumns"] == ["event_date"]
    properties = detail["properties"]
    assert (properties.get("team"), properties.get("delta.checkpointInterval")) == ("engine", "5")


def test_commits_record_pipeline_config_hash_and_executor_versions(
    spark: SparkSession, run: Run
) -> None:
    history = DeltaTable.forPath(spark, str(run.base / "out")).history()
    writes = [
        json.loads(r["userMetadata"])
        for r in history.where(F.col("operation") == "MERGE").collect()
    ]
    assert writes, "no MERGE commit in the sink's history"
    config = run.pipeline.config
    for meta in writes:
        assert meta["pipeline"] == "engine-test"
        assert meta["config_hash"] == config.config_hash()
        assert meta["executors"] == {"clicks": "1.0", "views": "2.0"}


def test_merge_dedupes_across_runs_by_key(spark: SparkSession, run: Run) -> None:
    """A new source table repeating e1 (changed) adds only the new event e9.

    The new table starts at version 0 like the first one did: the batch's idempotency id must
    tell the two tables apart, or Delta would skip the write as already committed.
    """
    other = run.base / "second-source"
    write_source(spark, other / "raw", [raw("e1", "click", "changed"), raw("e9", "view", "q")])
    registry = registry_with()
    data = config_dict(other, ["clicks", "views"], sink={"path": str(run.base / "out")})
    data["dead_letters"] = {"path": str(other / "dead")}
    pipeline = Pipeline(build_config(data, registry), spark=spark, registry=registry)
    report = pipeline.run_batch().batches[0]
    assert report.sink_rows_added == 1
    expected = spark.createDataFrame(
        [
            ("e1", "click", AT_10, DAY, "A", None),
            ("e7", "click", datetime(2026, 1, 6, 23, 59, 59), SECOND_DAY, "B", 7),
            ("e3", "view", AT_10, DAY, "v", 12),
            ("e9", "view", AT_10, DAY, "q", None),
        ],
        CONTRACT_DDL,
    )
    assert_df_equality(
        visible(pipeline.output()), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_preview_returns_conformed_rows_of_a_hand_written_sample(
    spark: SparkSession, run: Run
) -> None:
    sample = spark.createDataFrame(
        [
            ("p1", "click", AT_10, "a", "5", (1,)),
            ("p2", "click", AT_10, "drop", None, (2,)),
            ("p3", "click", AT_10, "b", "five", (3,)),
        ],
        "event_id STRING, event_type STRING, event_time TIMESTAMP, x STRING, n STRING, "
        "_se_meta STRUCT<row_id: BIGINT>",
    )
    preview = run.pipeline.preview("clicks", sample)
    actual = preview.select(*CONTRACT_COLUMNS, F.col("_se_error.reason").alias("error"))
    expected = spark.createDataFrame(
        [
            ("p1", "click", AT_10, DAY, "A", 5, None),
            ("p3", "click", AT_10, DAY, "B", None, "contract_violation"),
        ],
        f"{CONTRACT_DDL}, error STRING",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_preview_accepts_a_sample_without_engine_columns(spark: SparkSession, run: Run) -> None:
    sample = spark.createDataFrame(
        [("p1", "click", AT_10, "a", "5")],
        "event_id STRING, event_type STRING, event_time TIMESTAMP, x STRING, n STRING",
    )
    actual = run.pipeline.preview("clicks", sample).select(*CONTRACT_COLUMNS, "_se_error")
    expected = spark.createDataFrame(
        [("p1", "click", AT_10, DAY, "A", 5, None)],
        f"{CONTRACT_DDL}, _se_error STRUCT<reason: STRING, message: STRING>",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_explain_of_an_executor_not_in_the_pipeline_is_an_error(run: Run) -> None:
    with pytest.raises(KeyError, match="clickz"):
        run.pipeline.explain("clickz")


def test_explain_has_a_section_per_executor(run: Run) -> None:
    text = run.pipeline.explain()
    assert "== executor clicks 1.0 ==" in text
    assert "== executor views 2.0 ==" in text
    only_views = run.pipeline.explain("views")
    assert "== executor views 2.0 ==" in only_views
    assert "clicks" not in only_views


class _Undated(Executor):
    """Clicks dated by ``event_time``, except ``x == "undated"``: no date at all."""

    def normalise(self, df: DataFrame) -> DataFrame:
        day = F.when(F.col("x") != "undated", F.to_date("event_time"))
        return df.withColumns({"event_date": day, "value": F.col("x")})


def test_a_backfill_skipping_other_days_dead_letters_a_row_without_a_date(
    spark: SparkSession, tmp_path: Path
) -> None:
    from spark_enrich.policy import ReplaceRange
    from spark_enrich.process import process_batch
    from spark_enrich.sink import DateRange

    registry = registry_with(("undated", "1.0", ["click"], _Undated))
    data = config_dict(tmp_path, ["undated"])
    data["output"]["columns"][3]["nullable"] = True  # event_date may be null in this contract
    pipeline = Pipeline(build_config(data, registry), spark=spark, registry=registry)
    batch = envelope(
        spark,
        [
            raw("in", x="a", event_time="2026-01-05T10:00:00Z"),
            raw("other-day", x="b", event_time="2026-01-04T23:59:00Z"),
            raw("no-date", x="undated", event_time="2026-01-05T11:00:00Z"),
        ],
    )

    report = process_batch(
        pipeline.plan,
        batch,
        batch_id=0,
        policy=ReplaceRange(
            DateRange("event_date", date(2026, 1, 5), date(2026, 1, 6)), skip_outside_days=True
        ),
    )

    (counts,) = report.executors
    assert (counts.output, counts.outside_range, counts.dead_lettered) == (1, 1, 1)
    letters = pipeline.dead_letters().select("reason", "message").collect()
    assert [(r.reason, r.message) for r in letters] == [
        ("contract_violation", "event_date is null")
    ]
    assert [r.event_id for r in pipeline.output().select("event_id").collect()] == ["in"]
