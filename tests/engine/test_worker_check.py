"""Before any data is read, a cluster's Python workers import the engine and the executors'
modules: a worker environment without them fails the run in seconds with INFRASTRUCTURE_ERROR
naming the module, not a minute later in the first executor job. A local session is not
checked (its workers run the driver's environment)."""

from __future__ import annotations

import uuid

import pytest
from pyspark.sql import SparkSession
from support.jobs import spark_jobs

from spark_enrich.errors import PipelineRunError
from spark_enrich.workers import check_workers, import_on_workers, worker_modules


def test_the_modules_are_the_engine_then_each_executors_module_once() -> None:
    modules = worker_modules(["b_exec", "a_exec", "b_exec", "__main__", "spark_enrich"])
    assert modules == ["spark_enrich", "a_exec", "b_exec"]


def test_a_module_the_workers_lack_fails_with_infrastructure_error_naming_it(
    spark: SparkSession,
) -> None:
    missing = f"se_not_on_workers_{uuid.uuid4().hex[:8]}"
    with pytest.raises(PipelineRunError) as caught:
        import_on_workers(spark, ["spark_enrich", missing], ["cluster_lang"])
    error = caught.value
    assert error.error_class == "INFRASTRUCTURE_ERROR"
    assert error.message_parameters["kind"] == "missing_module"
    assert error.message_parameters["module"] == missing
    assert error.message_parameters["executors"] == ["cluster_lang"]
    assert f"module {missing!r} not found on the workers" in str(error)
    assert f"No module named '{missing}'" in str(error)


def test_workers_that_have_every_module_pass(spark: SparkSession) -> None:
    import_on_workers(spark, ["spark_enrich", "pandas", "json"], ["x"])


def test_a_local_session_is_not_checked(spark: SparkSession) -> None:
    with spark_jobs(spark) as jobs:
        check_workers(spark, ["spark_enrich", "se_no_such_module"], ["x"])
    assert jobs == []
