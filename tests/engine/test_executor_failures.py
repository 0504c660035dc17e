"""Executors that break their contract or raise at run time, through the processing function:
contract errors name the executor and stage; a poison row is isolated and dead-lettered while
the rest reaches the sink; an executor failing on every row fails the batch."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.engine import (
    CONTRACT_DDL,
    build_config,
    config_dict,
    raw,
    registry_with,
    visible,
)
from support.engine import envelope as make_envelope
from support.jobs import spark_jobs

from spark_enrich import Executor, ExecutorContractError, Pipeline
from spark_enrich.accounting import BatchReport
from spark_enrich.errors import PipelineRunError
from spark_enrich.executing import MAX_POISON_ROWS
from spark_enrich.policy import NORMAL, DryRun
from spark_enrich.process import process_batch

AT_10 = datetime(2026, 1, 5, 10, 0)
DAY = date(2026, 1, 5)


def _complete(df: DataFrame) -> DataFrame:
    return df.withColumns({"event_date": F.to_date("event_time"), "value": F.col("x")})


class ReturnsNothing(Executor):
    def featurise(self, df: DataFrame) -> DataFrame:
        df.withColumn("y", F.lit(1))  # forgot the return
        return None  # type: ignore[return-value]


class DropsMeta(Executor):
    def normalise(self, df: DataFrame) -> DataFrame:
        return _complete(df).select("event_id", "event_type", "event_time", "event_date", "value")


class Misspelt(Executor):
    def filter(self, df: DataFrame) -> DataFrame:
        return df.where(F.col("xx") != "drop")


class NoValue(Executor):
    def normalise(self, df: DataFrame) -> DataFrame:
        return df.withColumn("event_date", F.to_date("event_time"))


class Poison(Executor):
    def normalise(self, df: DataFrame) -> DataFrame:
        boom = F.when(F.col("x") == "boom", F.raise_error(F.lit("boom")))
        return _complete(df).withColumn("value", boom.otherwise(F.col("x")))


class AlwaysFails(Executor):
    def normalise(self, df: DataFrame) -> DataFrame:
        return _complete(df).withColumn("value", F.raise_error(F.concat(F.lit("no "), "x")))


REGISTRY = registry_with(
    ("returns_nothing", "1", ["click"], ReturnsNothing),
    ("drops_meta", "1", ["click"], DropsMeta),
    ("misspelt", "1", ["click"], Misspelt),
    ("no_value", "1", ["click"], NoValue),
    ("poison", "1", ["click"], Poison),
    ("always_fails", "1", ["click"], AlwaysFails),
)
CLICKS = [raw("c1", x="a"), raw("c2", x="boom"), raw("c3", x="c"), raw("v1", "view", "v")]


def pipeline(spark: SparkSession, tmp_path: Path, *names: str) -> Pipeline:
    config = build_config(config_dict(tmp_path, list(names)), REGISTRY)
    return Pipeline(config, spark=spark, registry=REGISTRY)


def process(spark: SparkSession, p: Pipeline, *, write: bool = False) -> BatchReport:
    return process_batch(
        p.plan, make_envelope(spark, CLICKS), batch_id=0, policy=NORMAL if write else DryRun()
    )


def counts_by_executor(report: BatchReport) -> dict[str, tuple[int, int, int, int]]:
    return {c.executor: (c.input, c.filtered, c.output, c.dead_lettered) for c in report.executors}


def assert_only_the_boom_click_dead_lettered(spark: SparkSession, p: Pipeline) -> None:
    letters = p.dead_letters().select(
        "reason", "executor", F.col("raw_payload").cast("string").alias("raw")
    )
    assert_df_equality(
        letters,
        spark.createDataFrame(
            [("executor_error", "poison", CLICKS[1])], "reason STRING, executor STRING, raw STRING"
        ),
        ignore_nullable=True,
    )


@pytest.mark.parametrize(
    ("name", "error_class", "stage"),
    [
        ("returns_nothing", "STAGE_RETURNED_NON_DATAFRAME", "featurise"),
        ("drops_meta", "ENGINE_COLUMN_DROPPED", "normalise"),
        ("misspelt", "STAGE_FAILED", "filter"),
    ],
)
def test_stage_contract_errors_name_executor_and_stage(
    spark: SparkSession, tmp_path: Path, name: str, error_class: str, stage: str
) -> None:
    with pytest.raises(ExecutorContractError) as caught:
        process(spark, pipeline(spark, tmp_path, name))
    assert caught.value.error_class == error_class
    assert caught.value.message_parameters["executor"] == name
    assert caught.value.message_parameters["stage"] == stage


def test_missing_non_nullable_output_column_is_a_contract_error(
    spark: SparkSession, tmp_path: Path
) -> None:
    with pytest.raises(ExecutorContractError) as caught:
        process(spark, pipeline(spark, tmp_path, "no_value"))
    assert caught.value.error_class == "MISSING_OUTPUT_COLUMN"
    assert caught.value.message_parameters == {"executor": "no_value", "missing": ["value"]}


def test_poison_row_is_dead_lettered_and_the_rest_reaches_the_sink(
    spark: SparkSession, tmp_path: Path
) -> None:
    p = pipeline(spark, tmp_path, "poison")
    report = process(spark, p, write=True)
    (counts,) = report.executors
    assert (counts.input, counts.filtered, counts.output, counts.dead_lettered) == (3, 0, 2, 1)
    assert report.violations() == []
    expected = spark.createDataFrame(
        [("c1", "click", AT_10, DAY, "a", None), ("c3", "click", AT_10, DAY, "c", None)],
        CONTRACT_DDL,
    )
    assert_df_equality(visible(p.output()), expected, ignore_row_order=True, ignore_nullable=True)
    assert_only_the_boom_click_dead_lettered(spark, p)


def test_poison_row_in_one_executor_leaves_the_others_output_whole(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Executors run in one job until one of them fails; the failure must cost neither the
    # other executor's rows nor its counts, and each row must keep its executor.
    p = pipeline(spark, tmp_path, "views", "poison")
    report = process(spark, p, write=True)
    counts = counts_by_executor(report)
    assert counts == {"views": (1, 0, 1, 0), "poison": (3, 0, 2, 1)}
    assert report.violations() == []
    expected = spark.createDataFrame(
        [("c1", "poison", "1"), ("c3", "poison", "1"), ("v1", "views", "2.0")],
        "event_id STRING, _executor STRING, _executor_version STRING",
    )
    assert_df_equality(
        p.output().select("event_id", "_executor", "_executor_version"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_only_the_boom_click_dead_lettered(spark, p)


def test_executors_run_together_keep_their_own_rows_and_counts(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Both succeed, so they run in one job; its rows are split back to their executors.
    p = pipeline(spark, tmp_path, "poison", "views")
    envelope = make_envelope(spark, [raw("c1", x="a"), raw("c2", x="b"), raw("v1", "view", "v")])
    report = process_batch(p.plan, envelope, batch_id=0)
    counts = counts_by_executor(report)
    assert counts == {"poison": (2, 0, 2, 0), "views": (1, 0, 1, 0)}
    assert report.sink_rows_added == 3
    expected = spark.createDataFrame(
        [("c1", "poison", "a"), ("c2", "poison", "b"), ("v1", "views", "v")],
        "event_id STRING, _executor STRING, value STRING",
    )
    assert_df_equality(
        p.output().select("event_id", "_executor", "value"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_executor_failing_on_every_row_fails_the_batch(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(PipelineRunError) as caught:
        process(spark, pipeline(spark, tmp_path, "always_fails"))
    assert caught.value.error_class == "EXECUTOR_FAILED"
    assert caught.value.message_parameters["executor"] == "always_fails"


def _boom_batch(poison: int) -> tuple[list[str], list[str]]:
    """(every payload, the poison ones): ``poison`` clicks with ``x = boom`` and one good one."""
    booms = [raw(f"b{i}", x="boom") for i in range(poison)]
    return [*booms, raw("good", x="fine")], booms


def _search_jobs_bound(rows: int) -> int:
    # Halving a failing set of n rows tests each part once: at most 2(n - 1) parts, one job
    # each; plus a few jobs around the search (decode, the first attempt, the empty-batch
    # probe, reading the row ids, the attempt without the poison rows, the writes).
    return 2 * (rows - 1) + 20


def test_exactly_the_row_cap_of_poison_rows_is_dead_lettered(
    spark: SparkSession, tmp_path: Path
) -> None:
    assert MAX_POISON_ROWS == 64  # the README's number
    payloads, booms = _boom_batch(MAX_POISON_ROWS)
    p = pipeline(spark, tmp_path, "poison")
    with spark_jobs(spark) as jobs:
        report = process_batch(p.plan, make_envelope(spark, payloads), batch_id=0)
    (counts,) = report.executors
    assert (counts.input, counts.filtered, counts.output, counts.dead_lettered) == (65, 0, 1, 64)
    letters = p.dead_letters().select(
        "reason", "executor", F.col("raw_payload").cast("string").alias("raw")
    )
    assert_df_equality(
        letters,
        spark.createDataFrame(
            [("executor_error", "poison", b) for b in booms],
            "reason STRING, executor STRING, raw STRING",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert [r.event_id for r in p.output().collect()] == ["good"]
    assert len(jobs) <= _search_jobs_bound(len(payloads)), len(jobs)


def test_one_poison_row_over_the_cap_fails_the_batch(spark: SparkSession, tmp_path: Path) -> None:
    payloads, _ = _boom_batch(MAX_POISON_ROWS + 1)
    p = pipeline(spark, tmp_path, "poison")
    with spark_jobs(spark) as jobs, pytest.raises(PipelineRunError) as caught:
        process_batch(p.plan, make_envelope(spark, payloads), batch_id=0)
    assert caught.value.error_class == "EXECUTOR_FAILED"
    # The search stops at the first row over the cap, counted exactly.
    assert caught.value.message_parameters == {
        "executor": "poison",
        "isolated": MAX_POISON_ROWS + 1,
        "input": len(payloads),
    }
    assert len(jobs) <= _search_jobs_bound(len(payloads)), len(jobs)
    assert not (tmp_path / "out" / "_delta_log").exists()
    assert not (tmp_path / "dead" / "_delta_log").exists()
