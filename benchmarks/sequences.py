"""Sequences benchmark: the per-user sequences of the demo's enriched table, built by

- the sequences pipeline (``pipelines/sequences.yaml``: decode, the ``sequence_items``
  executor, conform, the ``sequence`` sink's MERGE fold into an empty table), against
- a hand-written PySpark job computing the same sequences from the same table (a window per
  user, the last N events collected in order, a Delta overwrite), and
- the sequences pipeline folding the same events a second time into the full table (every
  user's row rewritten: the cost of a refold, such as a backfill over the whole history).

All run in the same session on the same data; the ratios are what to read.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from benchmarks.common import REPO, demo_pipeline, fresh, print_table, session, timed

if TYPE_CHECKING:
    from spark_enrich import Pipeline

LENGTH = 50
ITEM_COLUMNS = ["event_id", "event_time", "event_date", "event_type", "token", "surface"]


def sequences_pipeline(spark: SparkSession, data: Path) -> Pipeline:
    """The shipped sequences pipeline over ``data``'s enriched table."""
    from spark_enrich import Pipeline

    env = {**os.environ, "SPARK_ENRICH_DEMO_DIR": str(data)}
    return Pipeline.from_yaml(
        REPO / "pipelines" / "sequences.yaml",
        env=env,
        overrides=["observability.metrics.kind=none"],
        spark=spark,
    )


def handwritten(spark: SparkSession, data: Path, out: Path) -> None:
    """Each user's last LENGTH events with a token, oldest first, written with overwrite."""
    events: DataFrame = spark.read.format("delta").load(str(data / "enriched"))
    token = F.when(
        F.col("event_type") == "search_query", F.concat(F.lit("q:"), F.col("query"))
    ).otherwise(F.col("item_id"))
    newest = Window.partitionBy("user_id").orderBy(F.desc("event_time"), F.desc("event_id"))
    last = (
        events.withColumn("token", token)
        .where(F.col("token").isNotNull())
        .withColumn("_rank", F.row_number().over(newest))
        .where(F.col("_rank") <= LENGTH)
    )
    item = F.struct(F.col("_rank"), F.struct(*ITEM_COLUMNS).alias("item"))
    result = last.groupBy("user_id").agg(
        F.reverse(F.transform(F.array_sort(F.collect_list(item)), lambda e: e["item"])).alias(
            "events"
        )
    )
    result.write.format("delta").mode("overwrite").save(str(out))


def main(events: int, workdir: Path, repeat: int) -> None:
    """Generate ``events`` demo events, enrich them, and print the three timings and ratios."""
    from spark_enrich.demo.generate import write_demo_data

    spark = session()
    data = workdir / "data"
    print(f"generating and enriching {events} events under {data} ...", flush=True)
    write_demo_data(spark, data, events)
    fresh(data / "enriched", data / "dead_letters")
    demo_pipeline(spark, data).run_batch()

    def fold_into_empty() -> None:
        fresh(data / "user_sequences", data / "sequence_dead_letters")
        sequences_pipeline(spark, data).run_batch()

    def refold() -> None:
        sequences_pipeline(spark, data).run_batch()

    # Warm the JVM on every path before measuring.
    timed(lambda: handwritten(spark, data, workdir / "warm-hand"))
    timed(fold_into_empty)
    samples: dict[str, list[float]] = {"hand": [], "fold": [], "refold": []}
    for round_ in range(repeat):
        samples["hand"].append(timed(lambda: handwritten(spark, data, workdir / "hand")))
        samples["fold"].append(timed(fold_into_empty))
        samples["refold"].append(timed(refold))
        times = ", ".join(f"{k} {v[-1]:.1f} s" for k, v in samples.items())
        print(f"round {round_ + 1}/{repeat}: {times}", flush=True)
    t_hand, t_fold, t_refold = (statistics.median(samples[k]) for k in ("hand", "fold", "refold"))
    users = spark.read.format("delta").load(str(data / "user_sequences")).count()
    print_table(
        f"sequences, {events} events, {users} users, last {LENGTH} (median of {repeat})",
        [
            ("hand-written PySpark job", t_hand, "s"),
            ("sequences pipeline, empty table", t_fold, "s"),
            ("sequences pipeline, refold", t_refold, "s"),
            ("ratio fold / hand-written", t_fold / t_hand, "engine cost"),
            ("ratio refold / fold", t_refold / t_fold, "cost of the stored sequences"),
        ],
    )
