"""Failures that are not about the rows fail the batch at once, with the real cause: a module
the Python workers cannot import, a Python worker that crashes, a lost executor, out of memory.
Failures some rows cause are still isolated and dead-lettered, with the row's own error.

The missing module is the one of a cluster whose workers lack the project's package: a module
the driver imports from a folder it added to its own ``sys.path``, which the Python workers
(started by Spark's daemon with the session's environment) do not have.
"""

from __future__ import annotations

import importlib
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from chispa import assert_df_equality
from py4j.protocol import Py4JJavaError
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.functions import pandas_udf
from support.engine import build_config, config_dict, raw, registry_with
from support.engine import envelope as make_envelope
from support.jobs import failed_jobs, spark_jobs

from spark_enrich import EnrichContext, Executor, Pipeline
from spark_enrich.errors import PipelineRunError
from spark_enrich.failures import NotAboutRows, not_about_rows
from spark_enrich.process import process_batch

WORKER_MODULE = f"se_driver_only_{uuid.uuid4().hex[:8]}"
"""A module only the driver can import (written by the ``driver_only_module`` fixture)."""

MODULE_SOURCE = """
import pandas as pd


def upper(values: pd.Series) -> pd.Series:
    return values.str.upper()
"""


def _on_x(fn: Callable[[pd.Series], pd.Series]) -> Column:
    """``fn`` applied to the column ``x`` as a pandas UDF (strings in and out)."""
    make: Any = pandas_udf  # pyspark's stubs type only the deprecated `functionType` forms
    column: Column = make(fn, "string")("x")
    return column


def _value(df: DataFrame, value: Column) -> DataFrame:
    return df.withColumns({"event_date": F.to_date("event_time"), "value": value})


class DriverOnlyFunction(Executor):
    """Sends the workers a function of a module they cannot import (pickled by reference)."""

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        return df.withColumn("x", _on_x(importlib.import_module(WORKER_MODULE).upper))

    def normalise(self, df: DataFrame) -> DataFrame:
        return _value(df, F.col("x"))


# The functions the workers run are defined inside the methods: cloudpickle then sends them by
# value, as the workers cannot import this test module either.


class ImportsOnWorker(Executor):
    """Imports that module inside the function the workers run."""

    def normalise(self, df: DataFrame) -> DataFrame:
        module = WORKER_MODULE

        def imports_inside(values: pd.Series) -> pd.Series:
            importlib.import_module(module)
            return values

        return _value(df, _on_x(imports_inside))


class CrashesWorker(Executor):
    """Its Python worker dies (as one killed by the system or failing to start would)."""

    def normalise(self, df: DataFrame) -> DataFrame:
        def crash(values: pd.Series) -> pd.Series:
            import os

            os._exit(3)

        return _value(df, _on_x(crash))


class PythonPoison(Executor):
    """A pandas function that raises on one value: a poison row, though in a Python worker."""

    def normalise(self, df: DataFrame) -> DataFrame:
        def refuse_boom(values: pd.Series) -> pd.Series:
            if (values == "boom").any():
                raise ValueError("cannot enrich 'boom'")
            return values

        return _value(df, _on_x(refuse_boom))


REGISTRY = registry_with(
    ("driver_only", "1", ["click"], DriverOnlyFunction),
    ("imports_on_worker", "1", ["click"], ImportsOnWorker),
    ("crashes_worker", "1", ["click"], CrashesWorker),
    ("python_poison", "1", ["click"], PythonPoison),
)
CLICKS = [raw(f"c{i}", x=f"v{i}") for i in range(40)]


@pytest.fixture
def driver_only_module(tmp_path: Path) -> Iterator[ModuleType]:
    folder = tmp_path / "driver_only"
    folder.mkdir()
    (folder / f"{WORKER_MODULE}.py").write_text(MODULE_SOURCE)
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(WORKER_MODULE)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(WORKER_MODULE, None)


def pipeline(spark: SparkSession, tmp_path: Path, *names: str) -> Pipeline:
    config = build_config(config_dict(tmp_path, list(names)), REGISTRY)
    return Pipeline(config, spark=spark, registry=REGISTRY)


def fail_batch(
    spark: SparkSession, p: Pipeline, payloads: list[str]
) -> tuple[PipelineRunError, list[int], float]:
    """Process one batch that must fail: the error, the Spark jobs run, the seconds taken."""
    envelope = make_envelope(spark, payloads)
    started = time.monotonic()
    with spark_jobs(spark) as jobs, pytest.raises(PipelineRunError) as caught:
        process_batch(p.plan, envelope, batch_id=0)
    return caught.value, jobs, time.monotonic() - started


@pytest.mark.usefixtures("driver_only_module")
@pytest.mark.parametrize("name", ["driver_only", "imports_on_worker"])
def test_module_missing_on_the_workers_fails_the_batch_at_once_naming_it(
    spark: SparkSession, tmp_path: Path, name: str
) -> None:
    # With another executor, so that the joint job of both fails first.
    p = pipeline(spark, tmp_path, "views", name)
    error, jobs, seconds = fail_batch(spark, p, [*CLICKS, raw("v1", "view", "v")])
    assert error.error_class == "INFRASTRUCTURE_ERROR"
    assert error.message_parameters["kind"] == "missing_module"
    assert error.message_parameters["module"] == WORKER_MODULE
    assert error.message_parameters["executors"] == ["views", name]
    assert f"No module named '{WORKER_MODULE}'" in str(error)
    # The joint job failed, and no other: no re-run on parts of the 40 clicks.
    assert len(failed_jobs(spark, jobs)) == 1, jobs
    assert seconds < 60
    assert not (tmp_path / "out" / "_delta_log").exists()
    assert not (tmp_path / "dead" / "_delta_log").exists()


def test_crashed_python_worker_fails_the_batch_at_once(spark: SparkSession, tmp_path: Path) -> None:
    error, jobs, _ = fail_batch(spark, pipeline(spark, tmp_path, "crashes_worker"), CLICKS)
    assert error.error_class == "INFRASTRUCTURE_ERROR"
    assert error.message_parameters["kind"] == "python_worker"
    assert "Python worker exited unexpectedly" in str(error)
    assert len(failed_jobs(spark, jobs)) == 1, jobs


def test_python_error_on_one_row_is_a_poison_row_with_its_own_message(
    spark: SparkSession, tmp_path: Path
) -> None:
    p = pipeline(spark, tmp_path, "python_poison")
    clicks = [raw("c1", x="a"), raw("c2", x="boom"), raw("c3", x="c")]
    report = process_batch(p.plan, make_envelope(spark, clicks), batch_id=0)
    (counts,) = report.executors
    assert (counts.input, counts.output, counts.dead_lettered) == (3, 2, 1)
    letters = p.dead_letters().select("reason", "message", F.col("raw_payload").cast("string"))
    assert_df_equality(
        letters,
        spark.createDataFrame(
            [("executor_error", "ValueError: cannot enrich 'boom'", clicks[1])],
            "reason STRING, message STRING, raw_payload STRING",
        ),
        ignore_nullable=True,
    )


def _java_failure(spark: SparkSession, throwable: object) -> Py4JJavaError:
    """A real Py4J error from the JVM whose cause is ``throwable``."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    future = jvm.java.util.concurrent.CompletableFuture()
    future.completeExceptionally(throwable)
    with pytest.raises(Py4JJavaError) as caught:
        future.get()
    return caught.value


# The first line of Spark's message for a failed stage: "Job aborted due to stage failure:",
# then TaskSetManager's "Lost task ... (TID n) (host executor id): " and the task's failure.
STAGE_FAILURE = (
    "Job aborted due to stage failure: Task 3 in stage 7.0 failed 4 times, most recent "
    "failure: Lost task 3.3 in stage 7.0 (TID 41) (10.1.2.3 executor 2): {reason}"
)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (
            "ExecutorLostFailure (executor 2 exited caused by one of the running tasks) "
            "Reason: Remote RPC client disassociated.",
            "executor_lost",
        ),
        ("java.lang.OutOfMemoryError: Java heap space", "out_of_memory"),
        (
            "FetchFailed(BlockManagerId(1, 10.1.2.4, 7337, None), shuffleId=0, mapIndex=1, "
            "mapId=5, reduceId=2, message=...)",
            "executor_lost",
        ),
        (
            "org.apache.spark.SparkException: Python worker exited unexpectedly (crashed)",
            "python_worker",
        ),
        (  # a worker that cannot start: spark.pyspark.python missing on the node
            'java.io.IOException: Cannot run program "./environment/bin/python": error=2, '
            "No such file or directory",
            "python_worker",
        ),
    ],
)
def test_stage_failures_of_the_cluster_are_not_about_rows(
    spark: SparkSession, reason: str, kind: str
) -> None:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    failure = jvm.org.apache.spark.SparkException(STAGE_FAILURE.format(reason=reason))
    found = not_about_rows(_java_failure(spark, failure))
    assert found is not None and found.kind == kind
    assert reason in found.cause


def test_out_of_memory_error_in_the_cause_chain_is_not_about_rows(spark: SparkSession) -> None:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    found = not_about_rows(_java_failure(spark, jvm.java.lang.OutOfMemoryError("Java heap space")))
    assert found == NotAboutRows("out_of_memory", "java.lang.OutOfMemoryError: Java heap space")


@pytest.mark.parametrize(
    "failing",
    ["raise_error('boom')", "id div 0", "cast(concat('x', id) AS int)"],
    ids=["raise_error", "divide_by_zero", "cast"],
)
def test_errors_rows_cause_are_about_rows(spark: SparkSession, failing: str) -> None:
    with pytest.raises(Exception) as caught:
        spark.range(3).selectExpr(failing).collect()
    assert not_about_rows(caught.value) is None


ROW_TEXTS = [
    "FetchFailed",
    "ExecutorLostFailure (executor 2 exited)",
    "java.lang.OutOfMemoryError: Java heap space",
    "Python worker exited unexpectedly (crashed)",
    "Job 3 cancelled because SparkContext was shut down",
]


@pytest.mark.parametrize("text", ROW_TEXTS)
def test_a_rows_value_that_reads_like_a_cluster_failure_is_still_about_rows(
    spark: SparkSession, text: str
) -> None:
    """A poison row must never stop the pipeline: a row's own value quoted in its error (a bad
    cast of the text 'FetchFailed', a raise_error with the row's field) is not the cluster's."""
    rows = spark.createDataFrame([(text,)], "v STRING")
    for failing in ("cast(v AS int)", "raise_error(v)"):
        with pytest.raises(Exception) as caught:
            rows.selectExpr(failing).collect()
        assert not_about_rows(caught.value) is None, (failing, text)


@pytest.mark.parametrize("text", ROW_TEXTS)
def test_a_stage_failure_quoting_a_rows_value_is_about_rows(spark: SparkSession, text: str) -> None:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    reason = (
        "org.apache.spark.SparkNumberFormatException: [CAST_INVALID_INPUT] The value "
        f'\'{text}\' of the type "STRING" cannot be cast to "INT" because it is malformed.'
    )
    failure = jvm.org.apache.spark.SparkException(STAGE_FAILURE.format(reason=reason))
    assert not_about_rows(_java_failure(spark, failure)) is None
