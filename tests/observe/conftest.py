"""Fixtures of the observability tests: the demo's offline tables and raw archive, written once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spark_enrich.demo.generate import write_demo_data


@pytest.fixture(scope="session")
def demo_data(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``raw`` (600 generated events over 2026-01-01..07), ``pins`` and ``users``."""
    folder = tmp_path_factory.mktemp("demo-data")
    write_demo_data(spark, folder, 600, seed=13)
    return folder
