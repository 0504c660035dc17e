"""The pipeline the hostile corpus runs through: tiny executors, a YAML file, the two sources.

- ``clicks`` (``pin_click``): filters ``pin_id == "bot"``; version 1.0 raises (``raise_error``)
  on ``pin_id == "boom"``; the fixed version 1.1 does not.
- ``views`` (``pin_view``): passes everything through.

Both output ``dwell`` (INT in the contract) from ``dwell_ms`` (BIGINT in the raw schema).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_enrich import EnrichContext, Executor, Pipeline, executor
from spark_enrich.registry import ExecutorRegistry
from support.corpus import MAX_PAYLOAD_BYTES, Case
from support.registry import isolated_registry

RAW_SCHEMA = (
    "event_id STRING, event_type STRING, user_id STRING, event_time STRING, pin_id STRING, "
    "dwell_ms BIGINT"
)
CONTRACT_DDL = (
    "event_id STRING, event_type STRING, user_id STRING, event_time TIMESTAMP, pin_id STRING, "
    "dwell INT"
)
PARITY_COLUMNS = ["reason", "message", "executor", "executor_version", "event_type", "raw_payload"]


def _normalise(df: DataFrame) -> DataFrame:
    return df.withColumn("dwell", F.col("dwell_ms"))


def registry(*, fixed: bool = False, duplicating: bool = False) -> ExecutorRegistry:
    """``clicks`` 1.0 raising on ``boom`` (or 1.1, fixed) and ``views`` 1.0 (whose enrich
    stage emits every row twice when ``duplicating``: an accounting bug)."""
    reg = isolated_registry()

    @executor(
        name="clicks", version="1.1" if fixed else "1.0", event_types=["pin_click"], registry=reg
    )
    class Clicks(Executor):
        def filter(self, df: DataFrame) -> DataFrame:
            return df.where(F.col("pin_id") != "bot")

        def normalise(self, df: DataFrame) -> DataFrame:
            if fixed:
                return _normalise(df)
            pin = F.when(
                F.col("pin_id") == "boom", F.raise_error(F.lit("clicks cannot handle pin boom"))
            ).otherwise(F.col("pin_id"))
            return _normalise(df).withColumn("pin_id", pin)

    @executor(name="views", version="1.0", event_types=["pin_view"], registry=reg)
    class Views(Executor):
        def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
            if not duplicating:
                return df
            copies = F.explode(F.array(F.lit(1), F.lit(2)))
            return df.withColumn("_copy", copies).drop("_copy")

        def normalise(self, df: DataFrame) -> DataFrame:
            return _normalise(df)

    return reg


def write_pipeline(
    folder: Path,
    *,
    bootstrap: str = "127.0.0.1:1",
    topic: str = "unused",
    **decoding_or_dead_letters: Any,
) -> Path:
    """A pipeline YAML in ``folder``: Delta source ``archive`` (``folder/raw``, BINARY column
    ``value``), Kafka source ``events``, sink ``folder/out``, dead letters ``folder/dead``."""
    config: dict[str, Any] = {
        "name": "hostile",
        "version": "1",
        "sources": [
            {"name": "archive", "kind": "delta", "path": str(folder / "raw"),
             "payload_column": "value"},
            {"name": "events", "kind": "kafka", "bootstrap_servers": bootstrap,
             "topics": [topic], "starting_offsets": "earliest"},
        ],
        "decoding": {
            "schema": RAW_SCHEMA,
            "required": ["event_id", "event_type", "user_id", "event_time"],
            "max_payload_bytes": MAX_PAYLOAD_BYTES,
            "unrouted": "dead_letter",
        },
        "executors": [{"name": "clicks"}, {"name": "views"}],
        "output": {
            "columns": [
                {"name": "event_id", "type": "string", "nullable": False},
                {"name": "event_type", "type": "string", "nullable": False},
                {"name": "user_id", "type": "string", "nullable": False},
                {"name": "event_time", "type": "timestamp", "nullable": False},
                {"name": "pin_id", "type": "string"},
                {"name": "dwell", "type": "int"},
            ],
            "key": ["event_id"],
        },
        "sink": {"path": str(folder / "out"), "mode": "merge"},
        "dead_letters": {"path": str(folder / "dead")},
        "runtime": {
            "batch": {"source": "archive", "date_column": "event_time"},
            "stream": {"checkpoint": str(folder / "checkpoint"),
                       "trigger": {"kind": "available_now"}},
        },
        "observability": {"metrics": {"kind": "none"}},
    }  # fmt: skip
    for section in ("decoding", "dead_letters"):
        extra = decoding_or_dead_letters.pop(section, {})
        config[section].update(extra)
    assert not decoding_or_dead_letters, decoding_or_dead_letters
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def load(
    path: Path, spark: SparkSession, *, fixed: bool = False, duplicating: bool = False
) -> Pipeline:
    reg = registry(fixed=fixed, duplicating=duplicating)
    return Pipeline.from_yaml(path, spark=spark, registry=reg)


def envelope(spark: SparkSession, payloads: Sequence[bytes | None]) -> DataFrame:
    """The envelope a Delta source with these payloads (BINARY) would produce."""
    from spark_enrich.sources import table_envelope

    rows = [(bytearray(p) if p is not None else None,) for p in payloads]
    frame = spark.createDataFrame(rows, "value BINARY").coalesce(1)
    return table_envelope(
        frame, source_name="archive", kind="delta", table="memory", payload_column="value"
    )


def write_archive(spark: SparkSession, folder: Path, payloads: Sequence[bytes | None]) -> None:
    """The Delta source: one BINARY column ``value`` holding the payloads byte for byte."""
    rows = [(bytearray(p) if p is not None else None,) for p in payloads]
    frame = spark.createDataFrame(rows, "value BINARY").coalesce(1)
    frame.write.format("delta").mode("overwrite").save(str(folder / "raw"))


def produce(bootstrap: str, topic: str, cases: Sequence[Case]) -> None:
    """Send each case to Kafka as is (``None`` is a tombstone), with a key and a header."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    failures: list[str] = []

    def delivered(error: Any, message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    for i, case in enumerate(cases):
        producer.produce(
            topic,
            value=case.payload,
            key=f"key-{i}".encode(),
            headers=[("case", str(i).encode())],
            on_delivery=delivered,
        )
    assert producer.flush(30) == 0
    assert not failures, failures
