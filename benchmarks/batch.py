"""Batch benchmark (issue #4): the demo pipeline on N events against

- a hand-written PySpark job doing the same reads, parsing, executor logic, joins and Delta
  write, without the engine (no decode checks, conform, accounting, dead letters, merge), and
- a Delta read -> write passthrough of the same raw rows (the I/O floor).

All three run in the same session on the same data; the ratios are what to read.
"""

from __future__ import annotations

from functools import reduce
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from benchmarks.common import demo_pipeline, fresh, print_table, session, timed


def passthrough(spark: SparkSession, data: Path, out: Path) -> None:
    """Read the raw archive and write it to a new Delta table."""
    spark.read.format("delta").load(str(data / "raw")).write.format("delta").mode("overwrite").save(
        str(out)
    )


def handwritten(spark: SparkSession, data: Path, out: Path) -> None:
    """What a careful engineer would write by hand for the same output."""
    from delta.tables import DeltaTable

    from spark_enrich import EnrichContext
    from spark_enrich.registry import default_registry

    pipeline = demo_pipeline(spark, data)
    config = pipeline.config
    raw = spark.read.format("delta").load(str(data / "raw"))
    parsed = raw.select(F.from_json("value", config.decoding.schema).alias("e")).select("e.*")
    events = parsed.withColumn(
        "event_time", F.try_to_timestamp("event_time", F.lit("yyyy-MM-dd'T'HH:mm:ss[.SSS]XXX"))
    ).where(
        F.col("event_id").isNotNull()
        & F.col("user_id").isNotNull()
        & F.col("event_time").isNotNull()
        & F.col("event_type").isNotNull()
    )
    pins = F.broadcast(spark.read.format("delta").load(str(data / "pins")))
    users = F.broadcast(spark.read.format("delta").load(str(data / "users")))
    contract = [(c.name, c.type) for c in config.output.columns]
    outputs = []
    registry = default_registry()
    for ex_cfg in config.executors:
        cls = registry.get(ex_cfg.name)
        ex = cls(None)
        ctx = EnrichContext({"pins": lambda: pins, "users": lambda: users}, executor=cls.spec.name)
        frame = events.where(F.col("event_type").isin(list(cls.spec.event_types)))
        frame = ex.normalise(ex.enrich(ex.featurise(ex.filter(frame)), ctx))
        outputs.append(frame.select(*[F.col(n).cast(t).alias(n) for n, t in contract]))
    result: DataFrame = reduce(DataFrame.unionByName, outputs).dropDuplicates(["event_id"])
    # The same table as the engine's sink: partitioning and properties (optimised writes).
    table = DeltaTable.createOrReplace(spark).location(str(out)).addColumns(result.schema)
    table = table.partitionedBy(*config.sink.partition_by)
    for key, value in config.sink.properties.items():
        table = table.property(key, str(value))
    table.execute()
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
    t_pass = timed(lambda: passthrough(spark, data, workdir / "pass"), repeat=repeat)
    t_hand = timed(lambda: handwritten(spark, data, workdir / "hand"), repeat=repeat)
    t_engine = timed(lambda: engine(spark, data), repeat=repeat)
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
