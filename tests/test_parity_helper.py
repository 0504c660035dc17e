"""spark_enrich.testing.parity: engine metadata is ignored, business columns are not."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from spark_enrich.testing.parity import assert_parity, business_columns


def test_metadata_columns_are_ignored(spark: SparkSession) -> None:
    a = spark.createDataFrame([("e1", 1, "run-a")], "event_id STRING, n INT, _run_id STRING")
    b = spark.createDataFrame([("e1", 1, "run-b")], "event_id STRING, n INT, _run_id STRING")
    assert business_columns(a).columns == ["event_id", "n"]
    assert_parity(a, b)


def test_a_different_business_value_fails(spark: SparkSession) -> None:
    a = spark.createDataFrame([("e1", 1)], "event_id STRING, n INT")
    b = spark.createDataFrame([("e1", 2)], "event_id STRING, n INT")
    with pytest.raises(AssertionError):
        assert_parity(a, b)
