"""The demo's enriched events, computed once for tests/online, and a feed of them per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.online import QUIET, REPO, Feed

from spark_enrich import Pipeline
from spark_enrich.demo.generate import write_demo_data


@pytest.fixture(scope="session")
def enriched(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> DataFrame:
    base = tmp_path_factory.mktemp("online-enriched")
    write_demo_data(spark, base, 300, seed=5)
    enrich = Pipeline.from_yaml(
        REPO / "pipelines" / "demo.yaml",
        env={"SPARK_ENRICH_DEMO_DIR": str(base)},
        overrides=QUIET,
        spark=spark,
    )
    enrich.run_batch()
    return enrich.output().localCheckpoint()


@pytest.fixture
def feed(enriched: DataFrame, tmp_path: Path) -> Feed:
    part = F.abs(F.hash("event_id")) % 3
    return Feed(tmp_path, [enriched.where(part == i) for i in range(3)])
