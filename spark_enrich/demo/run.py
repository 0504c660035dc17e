"""The demo end to end as a function: what ``spark-enrich demo run`` does, returning its reports."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spark_enrich.config.types import is_uri

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_enrich.accounting import RunReport
    from spark_enrich.config import PipelineConfig
    from spark_enrich.pipeline import Pipeline

DEMO_PIPELINE = Path("pipelines/demo.yaml")
SEQUENCES_PIPELINE = Path("pipelines/sequences.yaml")
PACKAGED = Path(__file__).parent / "pipelines"
"""The demo pipelines inside the installed package (copies of the repository's pipelines/)."""


def demo_pipeline_file(path: str | Path) -> Path:
    """``path``, or the packaged copy of a default demo pipeline (``pipelines/demo.yaml``,
    ``pipelines/sequences.yaml``) when it is not there: ``demo run`` works from any folder
    after ``pip install``, and a checkout's own pipelines/ (or a user's edit) is used first."""
    path = Path(path)
    if not path.exists() and path in (DEMO_PIPELINE, SEQUENCES_PIPELINE):
        return PACKAGED / path.name
    return path


@dataclass(frozen=True)
class DemoRun:
    """What :func:`run_demo` did. ``report.by_executor()`` is the per-executor batch report
    ``demo run`` prints; ``sequences`` and ``sequences_report`` are None when skipped."""

    raw_path: str
    pipeline: Pipeline
    report: RunReport
    sequences: Pipeline | None
    sequences_report: RunReport | None
    produced: int | None  # events produced to the local Kafka broker (stream only)
    bootstrap_servers: str | None


def run_demo(
    out: str | Path,
    *,
    events: int = 20_000,
    seed: int = 7,
    pipeline_file: str | Path = DEMO_PIPELINE,
    sequences_file: str | Path | None = SEQUENCES_PIPELINE,
    stream: bool = False,
    spark: SparkSession | None = None,
) -> DemoRun:
    """Generate the demo data under ``out``, run the demo pipeline on it (a batch over the Delta
    archive, or with ``stream`` a local Kafka broker, the events produced to it and an
    available-now stream), then fold its output into per-user sequences unless
    ``sequences_file`` is None. Earlier outputs inside ``out`` are cleared first.

    Raises:
        ConfigError: a pipeline file is invalid (before Spark starts).
        EnvironmentProblem: Java, the jars or the broker could not start.
        SparkEnrichError: a run failed.
    """
    from spark_enrich.demo.generate import produce_to_kafka, write_demo_data
    from spark_enrich.pipeline import Pipeline
    from spark_enrich.session import demo_conf, get_spark
    from spark_enrich.testing.kafka import LocalKafkaBroker

    out = Path(out).resolve()
    for stale in ("_checkpoints", "_kafka"):
        shutil.rmtree(out / stale, ignore_errors=True)
    env = {**os.environ, "SPARK_ENRICH_DEMO_DIR": str(out)}
    broker = None
    try:
        if stream:
            broker = LocalKafkaBroker.start(out / "_kafka")
            env["KAFKA_BOOTSTRAP"] = broker.bootstrap_servers
        pipeline = Pipeline.from_yaml(demo_pipeline_file(pipeline_file), env=env)
        follower = None
        if sequences_file is not None:
            follower = Pipeline.from_yaml(demo_pipeline_file(sequences_file), env=env)
        for loaded in (pipeline, follower):
            if loaded is not None:
                clear_outputs(loaded.config, out)
        spark = spark or get_spark("spark-enrich-demo", conf=demo_conf(out))
        pipeline = Pipeline(pipeline.config, spark=spark)
        paths = write_demo_data(spark, out, events, seed=seed)
        produced = None
        if broker is not None:
            raw = spark.read.format("delta").load(paths["raw"])
            produced = produce_to_kafka(raw, broker.bootstrap_servers)
            report = pipeline.run_stream(available_now=True)
        else:
            report = pipeline.run_batch()
        followed = None
        if follower is not None:
            follower = Pipeline(follower.config, spark=spark)
            followed = follower.run_stream(available_now=True) if stream else follower.run_batch()
        return DemoRun(
            raw_path=paths["raw"],
            pipeline=pipeline,
            report=report,
            sequences=follower,
            sequences_report=followed,
            produced=produced,
            bootstrap_servers=broker.bootstrap_servers if broker is not None else None,
        )
    finally:
        if broker is not None:
            broker.stop()


def clear_outputs(config: PipelineConfig, out: Path) -> None:
    """Delete the tables and checkpoint a demo pipeline writes, when they lie inside ``out``
    (a previous run's sequences would otherwise be folded into; never anything outside)."""
    stream = config.runtime.stream
    for location in (
        config.sink.path,
        config.dead_letters.path,
        stream.checkpoint if stream is not None else None,
    ):
        if location is None or is_uri(location):
            continue
        path = Path(location).resolve()
        if path.is_relative_to(out) and path != out:
            shutil.rmtree(path, ignore_errors=True)
