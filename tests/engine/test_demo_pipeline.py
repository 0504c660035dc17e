"""The demo pipeline file with the real example executors, on generated demo data in a temporary
folder (``SPARK_ENRICH_DEMO_DIR``) with ``--set``-style overrides: the accounting identities
hold for every executor and at the router, and a re-run of the same batch changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.engine import visible

from spark_enrich import Pipeline
from spark_enrich.accounting import BatchReport
from spark_enrich.demo.generate import write_demo_data

DEMO = Path(__file__).resolve().parents[2] / "pipelines" / "demo.yaml"


@dataclass
class DemoRun:
    pipeline: Pipeline
    raw_rows: int
    first: BatchReport
    second: BatchReport
    sink_after_first: DataFrame


@pytest.fixture(scope="module")
def demo(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    base = tmp_path_factory.mktemp("demo")
    paths = write_demo_data(spark, base, n=300)
    pipeline = Pipeline.from_yaml(
        DEMO,
        env={"SPARK_ENRICH_DEMO_DIR": str(base)},
        overrides=["observability.metrics.kind=none", "dead_letters.max_share=0.5"],
        spark=spark,
    )
    raw_rows = spark.read.format("delta").load(paths["raw"]).count()
    first = pipeline.run_batch().batches[0]
    sink_after_first = visible(pipeline.output()).localCheckpoint()
    second = pipeline.run_batch().batches[0]
    return DemoRun(pipeline, raw_rows, first, second, sink_after_first)


def test_overrides_and_environment_are_applied(demo: DemoRun) -> None:
    config = demo.pipeline.config
    assert config.dead_letters.max_share == 0.5
    assert [m.kind for m in config.observability.destinations()] == ["none"]
    assert config.sink.path is not None and config.sink.path.endswith("/enriched")
    assert not config.sink.path.startswith(str(DEMO.parent.parent / "demo-output"))


def test_every_executor_balances_and_the_router_counts_every_row(demo: DemoRun) -> None:
    report = demo.first
    assert report.source_rows == demo.raw_rows
    assert [(e.executor, e.version) for e in report.executors] == [
        ("engagement", "1.0.0"),
        ("search", "1.0.0"),
        ("impressions", "1.0.0"),
    ]
    for e in report.executors:
        assert e.input == e.output + e.filtered + e.dead_lettered, e
        assert e.input > 0, f"{e.executor} got no events"
    decoded_bad = sum(report.decode_dead_lettered.values())
    assert report.source_rows == decoded_bad + report.routed + report.unrouted
    assert report.routed == sum(e.input for e in report.executors)
    assert report.violations() == []


def test_sink_has_one_row_per_event_id(demo: DemoRun) -> None:
    sink = demo.sink_after_first
    assert sink.count() == demo.first.sink_rows_added
    assert sink.groupBy("event_id").count().where(F.col("count") > 1).count() == 0
    assert 0 < demo.first.sink_rows_added <= demo.first.output


def test_rerunning_the_same_batch_leaves_the_sink_unchanged(demo: DemoRun) -> None:
    assert demo.second.sink_rows_added == 0
    assert_df_equality(
        visible(demo.pipeline.output()),
        demo.sink_after_first,
        ignore_row_order=True,
        ignore_nullable=True,
    )
