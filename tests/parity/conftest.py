"""Demo data for the parity tests: the raw archive and offline tables, and the enriched table
the demo pipeline wrote from them (the sequences pipeline's source)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from parity_kit import DemoData
from pyspark.sql import SparkSession

from spark_enrich.demo.generate import write_demo_data


@pytest.fixture(scope="session")
def demo_data(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoData]:
    folder = tmp_path_factory.mktemp("parity-demo")
    write_demo_data(spark, folder, 400, seed=21)
    data = DemoData(folder)
    data.pipeline(spark, "demo").run_batch()
    yield data
