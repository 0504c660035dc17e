"""Fixtures of the runtime tests: the demo's offline tables and raw archive, written once."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spark_enrich.demo.generate import write_demo_data
from spark_enrich.testing.kafka import LocalKafkaBroker


@pytest.fixture(scope="session")
def demo_data(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``raw`` (2,000 generated events), ``pins`` and ``users`` Delta tables in one folder."""
    folder = tmp_path_factory.mktemp("demo-data")
    write_demo_data(spark, folder, 2000, seed=11)
    return folder


@pytest.fixture
def topic_pair(kafka_broker: LocalKafkaBroker) -> tuple[str, str]:
    """Fresh stand-ins for the demo's ``engagement`` and ``search`` topics (2 partitions)."""
    suffix = uuid.uuid4().hex[:8]
    names = (f"engagement-{suffix}", f"search-{suffix}")
    for name in names:
        kafka_broker.create_topic(name, partitions=2)
    return names
