"""Diff benchmark: ``spark-enrich diff`` on two Delta tables of N rows each (an enriched-events
shape: a key, a date, strings, numbers, an array), with injected differences of every kind,
against a plain full outer join of the same two tables on the same key written to Spark's
``noop`` sink (every column of every joined row produced, nothing stored): the floor of any
comparison that pairs the rows.

Rounds are interleaved (join, diff, join, diff, ...) and the medians compared; the diff's counts
are checked against the injected numbers on every round.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from benchmarks.common import fresh, print_table, session

CHANGED, MISSING, EXTRA, DUPLICATED = 1_000, 500, 700, 300


def _table(spark: SparkSession, rows: int) -> DataFrame:
    i = F.col("id")
    return spark.range(rows).select(
        F.concat(F.lit("e"), i.cast("string")).alias("event_id"),
        F.date_add(F.lit("2026-01-01").cast("date"), (i % 30).cast("int")).alias("event_date"),
        F.concat(F.lit("u"), (i % 50_000).cast("string")).alias("user_id"),
        F.element_at(
            F.array(*(F.lit(t) for t in ("pin_click", "pin_save", "search"))),
            (i % 3 + 1).cast("int"),
        ).alias("event_type"),
        F.timestamp_seconds(F.lit(1_767_225_600) + i).alias("event_time"),
        F.concat(F.lit("pin-"), (i % 100_000).cast("string")).alias("item_id"),
        F.when(i % 4 == 0, None).otherwise(i * 7).alias("dwell_ms"),
        (i % 24 * 7).cast("int").alias("hour_of_week"),
        F.sha1(i.cast("string")).alias("query"),
        F.array(F.lit("a"), (i % 10).cast("string")).alias("query_tokens"),
        F.lit("run-1").alias("_run_id"),
    )


def prepare(spark: SparkSession, rows: int, workdir: Path) -> tuple[str, str]:
    """Write the left table and the right one with the injected differences."""
    left, right = workdir / "left", workdir / "right"
    fresh(left, right)
    base = _table(spark, rows)
    base.write.format("delta").save(str(left))
    idx = F.substring("event_id", 2, 20).cast("long")
    changed = F.when(idx < CHANGED, F.lit("changed")).otherwise(F.col("item_id"))
    body = (
        base.where(idx < rows - MISSING)  # the last MISSING rows are missing on the right
        .withColumn("item_id", changed)
        .withColumn("_run_id", F.lit("run-2"))
    )
    extra = _table(spark, rows + EXTRA).where(F.substring("event_id", 2, 20).cast("long") >= rows)
    dupes = base.where((idx >= CHANGED) & (idx < CHANGED + DUPLICATED))
    body.unionByName(extra).unionByName(dupes).write.format("delta").save(str(right))
    return str(left), str(right)


def main(rows: int, workdir: Path, repeat: int) -> None:
    """Time the diff against the plain full join, interleaved, and print the medians."""
    from spark_enrich.parity import diff_frames

    spark = session()
    left_path, right_path = prepare(spark, rows, workdir)

    def tables() -> tuple[DataFrame, DataFrame]:
        return (
            spark.read.format("delta").load(left_path),
            spark.read.format("delta").load(right_path),
        )

    def plain_join() -> None:
        a, b = tables()
        a.join(b, on="event_id", how="full_outer").write.format("noop").mode("overwrite").save()

    def diff() -> None:
        report = diff_frames(*tables(), ["event_id"])
        got = (report.fields["item_id"].count, report.only_left, report.only_right)
        assert got == (CHANGED, MISSING, EXTRA), got
        assert report.duplicated_right == DUPLICATED and report.duplicated_left == 0, report
        assert report.matched == rows - MISSING - DUPLICATED, report.matched

    # Warm-up: JIT, the Delta logs, file listing.
    plain_join()
    diff()
    joins: list[float] = []
    diffs: list[float] = []
    for _ in range(repeat):
        for action, samples in ((plain_join, joins), (diff, diffs)):
            start = time.perf_counter()
            action()
            samples.append(time.perf_counter() - start)
    join_s, diff_s = statistics.median(joins), statistics.median(diffs)
    print_table(
        f"diff, {rows:,} rows a side (median of {repeat})",
        [
            ("plain full outer join (noop sink)", join_s, "s"),
            ("spark-enrich diff", diff_s, "s"),
            ("ratio diff / join", diff_s / join_s, "goal <= 3"),
        ],
    )
    print(
        f"  injected and found: {CHANGED} changed, {MISSING} missing, {EXTRA} extra, "
        f"{DUPLICATED} duplicated keys"
    )
