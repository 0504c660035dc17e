"""Batch benchmark (issue #4): the demo pipeline on N events against

- a hand-written PySpark job doing the same reads, parsing, executor logic, joins and Delta
  write, without the engine (no decode checks, conform, accounting, dead letters, merge), and
- a Delta read -> write passthrough of the same raw rows (the I/O floor).

All three run in the same session on the same data; the ratios are what to read.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from pyspark.sql import SparkSession

from benchmarks.common import demo_pipeline, fresh, print_table, session, timed
from benchmarks.handwritten import create_table, enriched


def passthrough(spark: SparkSession, data: Path, out: Path) -> None:
    """Read the raw archive and write it to a new Delta table."""
    spark.read.format("delta").load(str(data / "raw")).write.format("delta").mode("overwrite").save(
        str(out)
    )


def handwritten(spark: SparkSession, data: Path, out: Path) -> None:
    """The hand-written job (:mod:`benchmarks.handwritten`) on the raw archive."""
    result = enriched(spark, data, spark.read.format("delta").load(str(data / "raw")))
    create_table(spark, data, out, result.schema)
    result.write.format("delta").mode("append").save(str(out))


def engine(spark: SparkSession, data: Path) -> None:
    """The demo pipeline through spark-enrich (batch mode, merge sink, dead letters)."""
    fresh(data / "enriched", data / "dead_letters")
    demo_pipeline(spark, data).run_batch()


def main(events: int, workdir: Path, repeat: int) -> None:
    """Generate ``events`` demo events and print the three timings and their ratios."""
    from spark_enrich.demo.generate import write_demo_data

    spark = session()
    data = workdir / "data"
    print(f"generating {events} events under {data} ...", flush=True)
    write_demo_data(spark, data, events)
    # Warm the JVM (class loading, code generation) on every path before measuring.
    timed(lambda: passthrough(spark, data, workdir / "warm-pass"))
    timed(lambda: handwritten(spark, data, workdir / "warm-hand"))
    timed(lambda: engine(spark, data))
    # Interleaved, so that drift on a shared machine (other load, heat, GC) affects all three
    # cases alike; the medians are compared.
    samples: dict[str, list[float]] = {"pass": [], "hand": [], "engine": []}
    for round_ in range(repeat):
        samples["pass"].append(timed(lambda: passthrough(spark, data, workdir / "pass")))
        samples["hand"].append(timed(lambda: handwritten(spark, data, workdir / "hand")))
        samples["engine"].append(timed(lambda: engine(spark, data)))
        times = ", ".join(f"{k} {v[-1]:.1f} s" for k, v in samples.items())
        print(f"round {round_ + 1}/{repeat}: {times}", flush=True)
    t_pass, t_hand, t_engine = (statistics.median(samples[k]) for k in ("pass", "hand", "engine"))
    print_table(
        f"batch, {events} events (median of {repeat})",
        [
            ("Delta passthrough (I/O floor)", t_pass, "s"),
            ("hand-written PySpark job", t_hand, "s"),
            ("spark-enrich batch run", t_engine, "s"),
            ("ratio engine / hand-written", t_engine / t_hand, "goal <= 1.05"),
            ("ratio engine / passthrough", t_engine / t_pass, "cost over pure I/O"),
        ],
    )
