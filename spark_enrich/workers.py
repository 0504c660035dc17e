"""Checking, before any data is read, that a cluster's Python workers can import the engine and
the pipeline's executor modules.

On a cluster whose nodes lack the project (no ``--archives`` environment, nothing installed),
the first job that runs Python on the workers fails with ``ModuleNotFoundError``. That job comes
after the source was read and the batch decoded, a minute or more into the run; this check runs
one tiny Python job right after the session starts, so such a run fails within seconds, with the
same ``INFRASTRUCTURE_ERROR`` naming the module. A local session (``local[...]``) is not checked:
its workers run the driver's own Python environment.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from spark_enrich.errors import PipelineRunError
from spark_enrich.failures import not_about_rows

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def import_on_worker(names: str) -> str:
    """Import each comma-separated module (run on a Python worker; returns ``"ok"``).

    It is sent to the workers by reference, so a worker first imports this module (and with it
    ``spark_enrich``): a worker without the engine fails naming ``spark_enrich``, as the
    pipeline's own jobs would.
    """
    for name in filter(None, names.split(",")):
        importlib.import_module(name)
    return "ok"


def worker_modules(executor_modules: Iterable[str]) -> list[str]:
    """The modules a worker must import: the engine and each executor's module (not
    ``__main__``, whose classes cloudpickle sends by value)."""
    names = {"spark_enrich", *executor_modules} - {"__main__"}
    return ["spark_enrich", *sorted(names - {"spark_enrich"})]


def check_workers(spark: SparkSession, modules: list[str], executors: list[str]) -> None:
    """On a cluster, import ``modules`` on a Python worker; nothing happens on a local session.

    Raises:
        PipelineRunError: ``INFRASTRUCTURE_ERROR`` when the worker cannot (the module it lacks,
            the real cause and what to do), before anything was read or written.
    """
    master = spark.conf.get("spark.master", "local") or "local"
    if not master.startswith("local"):
        import_on_workers(spark, modules, executors)


def import_on_workers(spark: SparkSession, modules: list[str], executors: list[str]) -> None:
    """Import ``modules`` on a Python worker, by one job of one row (on any master).

    Raises:
        PipelineRunError: ``INFRASTRUCTURE_ERROR`` as :func:`check_workers`.
    """
    from pyspark.sql import functions as F

    # A plain Python UDF: the check needs nothing on the worker but the modules it imports.
    check = F.udf(import_on_worker, "string", useArrow=False)
    try:
        spark.range(1, numPartitions=1).select(check(F.lit(",".join(modules)))).collect()
    except Exception as exc:
        found = not_about_rows(exc)
        if found is None:
            raise
        what = f"module {found.module!r} not found on the workers" if found.module else found.kind
        params: dict[str, object] = {"executors": executors, "kind": found.kind}
        params["cause"] = found.cause
        if found.module is not None:
            params["module"] = found.module
        raise PipelineRunError(
            "INFRASTRUCTURE_ERROR",
            f"The cluster's Python workers cannot run the pipeline ({what}): {found.cause}. "
            f"{found.hint} Checked before reading anything: nothing was read or written.",
            params,
        ) from exc
