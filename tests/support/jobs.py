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


def sql_executions(spark: SparkSession, after: int = -1) -> list[tuple[int, str, str]]:
    """The session's SQL executions with an id above ``after``: ``(id, description, physical
    plan)``, from Spark's own SQL listener (what the UI's SQL tab shows)."""
    store = spark._jsparkSession.sharedState().statusStore()  # type: ignore[attr-defined]
    listed = store.executionsList()
    found = []
    for i in range(listed.size()):
        execution = listed.apply(i)
        if execution.executionId() > after:
            found.append(
                (
                    int(execution.executionId()),
                    str(execution.description()),
                    str(execution.physicalPlanDescription()),
                )
            )
    return found
