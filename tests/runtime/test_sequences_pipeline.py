"""``pipelines/sequences.yaml`` fed by the demo pipeline: each user's last events, oldest first.

The demo pipeline enriches generated events in two rounds (the enriched table grows); the
sequences pipeline follows it as a Delta stream, and a batch run and a backfill over the final
table must give the same sequences. The expected sequences are computed here in Python from the
enriched table's rows, by the rule the README states.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_enrich import Pipeline
from spark_enrich.demo.generate import write_demo_data

REPO = Path(__file__).resolve().parents[2]
LENGTH = 4
QUIET = ["observability.metrics.kind=none", "dead_letters.max_share=0.5"]
ITEM_FIELDS = ["event_id", "event_time", "event_type", "token"]


@dataclass
class Demo:
    base: Path
    enriched: DataFrame
    streamed: DataFrame
    stream_batches: int


def sequences(spark: SparkSession, base: Path, sink: str) -> Pipeline:
    return Pipeline.from_yaml(
        REPO / "pipelines" / "sequences.yaml",
        env={"SPARK_ENRICH_DEMO_DIR": str(base)},
        overrides=[
            *QUIET,
            f"sink.sequence.length={LENGTH}",
            f"sink.path={base / sink}",
            f"runtime.stream.checkpoint={base / '_checkpoints' / sink}",
        ],
        spark=spark,
    )


def flat(table: DataFrame) -> DataFrame:
    """A sequence table as one row per item: user, position and the item's visible fields."""
    items = table.select("user_id", F.posexplode("events").alias("position", "e"))
    return items.select("user_id", "position", *(F.col(f"e.{f}").alias(f) for f in ITEM_FIELDS))


def reference(spark: SparkSession, enriched: DataFrame) -> DataFrame:
    """Each user's last LENGTH events with a token, by (event_time, event_id)."""
    by_user: dict[str, list[tuple[datetime, str, str, str]]] = {}
    for r in enriched.collect():
        search = r["event_type"] == "search_query"
        token = (f"q:{r['query']}" if r["query"] is not None else None) if search else r["item_id"]
        if token is None:
            continue
        by_user.setdefault(r["user_id"], []).append(
            (r["event_time"], r["event_id"], r["event_type"], token)
        )
    data = [
        (user, position, event_id, event_time, event_type, token)
        for user, events in by_user.items()
        for position, (event_time, event_id, event_type, token) in enumerate(
            sorted(events)[-LENGTH:]
        )
    ]
    schema = (
        "user_id STRING, position INT, event_id STRING, event_time TIMESTAMP, "
        "event_type STRING, token STRING"
    )
    return spark.createDataFrame(data, schema)


@pytest.fixture(scope="module")
def demo(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    base = tmp_path_factory.mktemp("sequences")
    paths = write_demo_data(spark, base, 400, seed=3)
    everything = spark.read.format("delta").load(paths["raw"]).localCheckpoint()
    halves = everything.withColumn("_half", F.abs(F.hash("value")) % 2)
    enrich = Pipeline.from_yaml(
        REPO / "pipelines" / "demo.yaml",
        env={"SPARK_ENRICH_DEMO_DIR": str(base)},
        overrides=QUIET,
        spark=spark,
    )
    follow = sequences(spark, base, "streamed")
    batches = 0
    for half in (0, 1):
        part = halves.where(F.col("_half") == half).drop("_half")
        part.write.format("delta").mode("overwrite").save(paths["raw"])
        enrich.run_batch()
        batches += follow.run_stream(available_now=True).batch_count
    return Demo(base, enrich.output().localCheckpoint(), follow.output(), batches)


def test_the_stream_folds_the_growing_table_into_each_users_last_events(
    spark: SparkSession, demo: Demo
) -> None:
    assert demo.stream_batches >= 2  # the table grew between the two runs
    assert_df_equality(
        flat(demo.streamed),
        reference(spark, demo.enriched),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    users = demo.enriched.select("user_id").distinct().count()
    assert demo.streamed.count() == users  # one row per user


def test_a_batch_run_and_a_backfill_twice_give_the_streams_sequences(
    spark: SparkSession, demo: Demo
) -> None:
    batch = sequences(spark, demo.base, "batch")
    report = batch.run_batch()
    assert report.total("sink_rows_added") == demo.enriched.select("user_id").distinct().count()
    expected = flat(demo.streamed)
    assert_df_equality(flat(batch.output()), expected, ignore_row_order=True)

    days = demo.enriched.agg(F.min("event_date"), F.max("event_date")).first()
    assert days is not None
    start, end = days[0], date.fromordinal(days[1].toordinal() + 1)
    filled = sequences(spark, demo.base, "backfilled")
    filled.backfill(start, end)
    first = flat(filled.output()).localCheckpoint()
    filled.backfill(start, end, force=True)
    assert_df_equality(flat(filled.output()), first, ignore_row_order=True)
    assert_df_equality(first, expected, ignore_row_order=True)
