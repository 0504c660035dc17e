"""Hand-written raw events, tiny test executors and a pipeline config for the engine tests.

The test domain: events ``{"event_id", "event_type", "event_time", "x", "n"}``.

- ``clicks`` 1.0 (``click``): drops ``x == "drop"``; ``value`` is ``upper(x)``.
- ``views`` 2.0 (``view``): keeps everything; ``value`` is ``x``.

Both set ``event_date`` (the date of ``event_time``) and leave ``n`` (a string) for the engine
to cast to the contract's ``int``. The contract requires ``value`` (not nullable).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_enrich import Executor, executor
from spark_enrich.config import PipelineConfig, validate_pipeline
from spark_enrich.registry import ExecutorRegistry
from support.registry import IsolatedRegistry, isolated_registry

RAW_SCHEMA = "event_id STRING, event_type STRING, event_time STRING, x STRING, n STRING"
CONTRACT_DDL = (
    "event_id STRING, event_type STRING, event_time TIMESTAMP, event_date DATE, value STRING, n INT"
)
CONTRACT_COLUMNS = [c.split()[0] for c in CONTRACT_DDL.split(", ")]


def _dated(df: DataFrame) -> DataFrame:
    return df.withColumn("event_date", F.to_date("event_time"))


def declare(registry: ExecutorRegistry) -> None:
    """Declare ``clicks`` and ``views`` in ``registry``."""

    @executor(name="clicks", version="1.0", event_types=["click"], registry=registry)
    class Clicks(Executor):
        def filter(self, df: DataFrame) -> DataFrame:
            return df.where(F.coalesce(F.col("x") != "drop", F.lit(True)))

        def normalise(self, df: DataFrame) -> DataFrame:
            return _dated(df).withColumn("value", F.upper("x"))

    @executor(name="views", version="2.0", event_types=["view"], registry=registry)
    class Views(Executor):
        def normalise(self, df: DataFrame) -> DataFrame:
            return _dated(df).withColumn("value", F.col("x"))


def registry_with(*classes: tuple[str, str, list[str], type[Executor]]) -> IsolatedRegistry:
    """A registry with ``clicks``, ``views`` and the given (name, version, types, class)."""
    registry = isolated_registry(declare)
    for name, version, types, cls in classes:
        executor(name=name, version=version, event_types=types, registry=registry)(cls)
    return registry


def raw(event_id: str, event_type: str = "click", x: str | None = "a", **more: Any) -> str:
    """One raw event as JSON text, at 2026-01-05 10:00 UTC unless ``event_time`` is given."""
    event: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "event_time": "2026-01-05T10:00:00Z",
        "x": x,
        **more,
    }
    return json.dumps(event)


def write_source(spark: SparkSession, path: Path, payloads: list[str]) -> str:
    """A Delta table with one ``value`` column holding the payloads; replaces ``path``."""
    frame = spark.createDataFrame([(p,) for p in payloads], "value STRING")
    frame.coalesce(1).write.format("delta").mode("overwrite").save(str(path))
    return str(path)


def config_dict(
    base: Path, executors: list[str], *, mode: str = "merge", **sections: Any
) -> dict[str, Any]:
    """A pipeline reading ``base/raw`` and writing ``base/out`` and ``base/dead``."""
    config: dict[str, Any] = {
        "name": "engine-test",
        "version": "1",
        "sources": [
            {
                "name": "raw",
                "kind": "delta",
                "path": str(base / "raw"),
                "payload_column": "value",
            }
        ],
        "decoding": {
            "schema": RAW_SCHEMA,
            "required": ["event_id", "event_type", "event_time"],
        },
        "executors": [{"name": n} for n in executors],
        "output": {
            "columns": [
                {"name": "event_id", "type": "string", "nullable": False},
                {"name": "event_type", "type": "string", "nullable": False},
                {"name": "event_time", "type": "timestamp", "nullable": False},
                {"name": "event_date", "type": "date", "nullable": False},
                {"name": "value", "type": "string", "nullable": False},
                {"name": "n", "type": "int"},
            ],
            "key": ["event_id"],
        },
        "sink": {"path": str(base / "out"), "mode": mode},
        "dead_letters": {"path": str(base / "dead")},
        "runtime": {"batch": {"source": "raw", "date_column": "event_date"}},
        "observability": {"metrics": {"kind": "none"}},
    }
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return config


def build_config(data: dict[str, Any], registry: ExecutorRegistry) -> PipelineConfig:
    """Validate shape and cross-field rules; fail the test on any problem."""
    config = PipelineConfig.model_validate(data)
    problems = validate_pipeline(config, registry)
    assert not problems, [p.format() for p in problems]
    return config


def visible(df: DataFrame) -> DataFrame:
    """The columns that must not differ between runs: every column not starting with ``_``."""
    return df.select(*[c for c in df.columns if not c.startswith("_")])


def envelope(spark: SparkSession, payloads: list[str]) -> DataFrame:
    """The envelope of in-memory payloads, as a Delta source would produce it."""
    from spark_enrich.sources import table_envelope

    rows = spark.createDataFrame([(p,) for p in payloads], "value STRING").coalesce(1)
    return table_envelope(
        rows, source_name="raw", kind="delta", table="memory", payload_column="value"
    )
