"""The Spark jobs a block of code runs: to assert how many ran, or how many failed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession


@contextmanager
def spark_jobs(spark: SparkSession) -> Iterator[list[int]]:
    """Collects the ids of the Spark jobs this thread runs inside the block (into the yielded
    list, when the block ends, whether it raised or not)."""
    sc = spark.sparkContext
    group = f"count-{uuid.uuid4().hex}"
    sc.setJobGroup(group, "jobs counted by a test")
    jobs: list[int] = []
    try:
        yield jobs
    finally:
        jobs.extend(sc.statusTracker().getJobIdsForGroup(group))
        for key in ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel"):
            sc.setLocalProperty(key, None)  # type: ignore[arg-type]


def failed_jobs(spark: SparkSession, jobs: list[int]) -> list[int]:
    """The jobs among ``jobs`` that failed."""
    tracker = spark.sparkContext.statusTracker()
    return [j for j in jobs if (info := tracker.getJobInfo(j)) and info.status == "FAILED"]
