"""Shared set-up of the benchmarks: a session, demo data, a pipeline on it, timing."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_enrich import Pipeline

REPO = Path(__file__).resolve().parents[1]
DEMO_PIPELINE = REPO / "pipelines" / "demo.yaml"


JFR_ENV = "SPARK_ENRICH_BENCH_JFR"
"""Set by ``python -m benchmarks --jfr FILE``: the driver JVM records a Flight Recorder profile
there (read it with ``python -m benchmarks.jfr``)."""


def session(conf: dict[str, str] | None = None) -> SparkSession:
    """One local session for all cases (UI off, AQE on, shuffle partitions sized to the cores);
    ``conf`` adds settings (the event log of a profile)."""
    from spark_enrich.session import get_spark, local_defaults

    cores = os.cpu_count() or 2
    settings = {"spark.sql.shuffle.partitions": str(max(2, cores * 2)), **(conf or {})}
    recording = os.environ.get(JFR_ENV)
    if recording:
        # Added to the engine's own driver options (its log settings), not in their place; a
        # deep stack keeps Catalyst's recursion from cutting off the frames that name a step.
        options = local_defaults()["spark.driver.extraJavaOptions"]
        settings["spark.driver.extraJavaOptions"] = (
            f"{options} -XX:FlightRecorderOptions=stackdepth=2048"
            f" -XX:StartFlightRecording=filename={recording},settings=profile"
        )
    return get_spark("spark-enrich-benchmarks", conf=settings)


def demo_pipeline(
    spark: SparkSession, data_dir: Path, *, overrides: Sequence[str] = (), **env: str
) -> Pipeline:
    """The demo pipeline with all its tables under ``data_dir``."""
    from spark_enrich import Pipeline

    environment = {**os.environ, "SPARK_ENRICH_DEMO_DIR": str(data_dir), **env}
    return Pipeline.from_yaml(DEMO_PIPELINE, env=environment, overrides=overrides, spark=spark)


def fresh(*paths: Path) -> None:
    """Remove outputs of an earlier case so each case writes to an empty table."""
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def timed(action: Callable[[], object], *, repeat: int = 1) -> float:
    """Median wall-clock seconds of ``action`` over ``repeat`` runs."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def print_table(title: str, rows: list[tuple[str, float, str]]) -> None:
    """Print ``(case, seconds or value, note)`` rows under a title."""
    print(f"\n== {title} ==")
    for name, value, note in rows:
        print(f"  {name:<34} {value:>11.3f}  {note}")
