"""The reference the engine is measured against: what a careful engineer would write by hand
for the demo pipeline's output — the same parsing, executor logic, joins, dedupe and Delta
table — without the engine (no decode checks, conform, accounting or dead letters)."""

from __future__ import annotations

from functools import reduce
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from benchmarks.common import demo_pipeline


def enriched(spark: SparkSession, data: Path, raw: DataFrame) -> DataFrame:
    """The demo pipeline's output rows for ``raw`` (a ``value`` column of JSON text)."""
    from spark_enrich import EnrichContext
    from spark_enrich.registry import default_registry

    config = demo_pipeline(spark, data).config
    parsed = raw.select(
        F.from_json(F.col("value").cast("string"), config.decoding.schema).alias("e")
    ).select("e.*")
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
    return reduce(DataFrame.unionByName, outputs).dropDuplicates(["event_id"])


def create_table(spark: SparkSession, data: Path, out: Path, schema: StructType) -> None:
    """The same table as the engine's sink: partitioning and properties (optimised writes)."""
    from delta.tables import DeltaTable

    config = demo_pipeline(spark, data).config
    table = DeltaTable.createOrReplace(spark).location(str(out)).addColumns(schema)
    table = table.partitionedBy(*config.sink.partition_by)
    for key, value in config.sink.properties.items():
        table = table.property(key, str(value))
    table.execute()
