"""An output column whose name holds a dot is a column, not a field path: a batch run writes it
(in the key too), and a second run of the same events adds nothing."""

from __future__ import annotations

from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.engine import build_config, config_dict, raw, write_source
from support.registry import isolated_registry

from spark_enrich import Executor, Pipeline, executor

DOTTED = "v.x"


def odd_names_pipeline(spark: SparkSession, base: Path) -> Pipeline:
    registry = isolated_registry()

    @executor(name="odd", version="1", event_types=["click"], registry=registry)
    class Odd(Executor):
        def normalise(self, df: DataFrame) -> DataFrame:
            return df.withColumns(
                {
                    "event_date": F.to_date("event_time"),
                    "value": F.col("x"),
                    DOTTED: F.upper("x"),
                }
            )

    data = config_dict(base, ["odd"])
    data["output"]["columns"].append({"name": DOTTED, "type": "string", "nullable": False})
    data["output"]["key"] = ["event_id", DOTTED]
    return Pipeline(build_config(data, registry), spark=spark, registry=registry)


def test_a_dot_in_a_column_name(spark: SparkSession, tmp_path: Path) -> None:
    write_source(spark, tmp_path / "raw", [raw("e1"), raw("e2", x="b")])
    pipeline = odd_names_pipeline(spark, tmp_path)

    first = pipeline.run_batch().batches[0]
    second = pipeline.run_batch().batches[0]

    assert (first.sink_rows_added, second.sink_rows_added) == (2, 0)
    expected = spark.createDataFrame(
        [("e1", "a", "A"), ("e2", "b", "B")], "event_id STRING, value STRING, v_x STRING"
    )
    # chispa sorts by name, unquoted: compare the dotted column under another name.
    actual = pipeline.output().select("event_id", "value", F.col(f"`{DOTTED}`").alias("v_x"))
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
