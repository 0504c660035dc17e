"""Materialised frames are stored once and freed after the batch: a long-running stream must
not keep every micro-batch's blocks until the driver's garbage collector runs."""

from __future__ import annotations

from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from support.engine import build_config, config_dict, raw, registry_with, write_source

from spark_enrich import Pipeline
from spark_enrich.materialize import materialize, release


def _stored(spark: SparkSession) -> set[int]:
    """Ids of the RDDs the context is asked to keep, except Delta's cached table states
    (Delta keeps one per table snapshot it reads, and frees them itself)."""
    rdds = spark.sparkContext._jsc.getPersistentRDDs()
    return {
        int(k)
        for k, rdd in rdds.items()
        if not str(rdd.rdd().name() or "").startswith("Delta Table State")
    }


def test_a_materialised_frame_reads_its_rows_until_released(spark: SparkSession) -> None:
    source = spark.range(100).withColumn("twice", F.col("id") * 2)
    before = _stored(spark)

    stored = materialize(source)
    held = _stored(spark) - before
    assert_df_equality(stored, source, ignore_row_order=True)
    assert len(held) == 1

    release(stored)
    assert not held & _stored(spark)


def test_a_batch_leaves_no_stored_blocks_behind(spark: SparkSession, tmp_path: Path) -> None:
    payloads = [raw("e1"), raw("e2", "view", "v"), raw("e3", "view", None), "{broken"]
    write_source(spark, tmp_path / "raw", payloads)
    registry = registry_with()
    config = build_config(config_dict(tmp_path, ["clicks", "views"]), registry)
    pipeline = Pipeline(config, spark=spark, registry=registry)
    before = _stored(spark)

    report = pipeline.run_batch().batches[0]

    # The batch went through every materialised step: decode, both executors, dead letters.
    assert report.dead_lettered == 2 and report.sink_rows_added == 2
    assert _stored(spark) - before == set()
