"""Telling a failure some rows cause from a failure that is not about the rows at all.

When a Spark job running an executor fails, the engine either isolates the rows that make it
fail (poison rows, dead-lettered) or, when the failure cannot depend on the rows, fails the
batch at once with the real cause. Re-running a job whose workers cannot import a module, or
whose executors are lost, on halves of the batch only repeats the failure, hundreds of times.

What counts as not about the rows, from what Spark reports (structured information first: the
error condition, the Java exception classes of the cause chain, the type of the Python
exception in the worker's traceback; the first line of a Java message where Spark gives only
text):

- a module missing on the Python workers (``ModuleNotFoundError``, ``ImportError``), or a
  Python worker that cannot load the function it was sent;
- a Python worker that crashed or could not start;
- a lost Spark executor or lost shuffle output (``ExecutorLostFailure``, ``FetchFailed``);
- out of memory (``java.lang.OutOfMemoryError``, Python's ``MemoryError``, Spark's memory
  conditions);
- an enrichment service that could not be reached at all, or failed under ``on_failure:
  fail`` (raised by :mod:`spark_enrich.services` on the workers);
- the Spark driver itself gone or stopped (Py4J connection lost, stopped SparkContext, a
  cancelled job).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PY_HEADER = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")
_NO_MODULE = re.compile(r"No module named '([^']+)'")
_CANNOT_IMPORT = re.compile(r"cannot import name '[^']+' from '([^']+)'")

SERVICE_UNREACHABLE = "spark_enrich.services.ServiceUnreachable"
SERVICE_FAILURE = "spark_enrich.services.ServiceFailure"

_HINTS = {
    "missing_module": "The Python workers cannot import it: ship the engine and the executor "
    "packages to every worker (a packed environment with spark-submit --archives and "
    "spark.pyspark.python), or install them on every node.",
    "python_worker": "A Python worker crashed or could not start: check spark.pyspark.python "
    "on the workers and their memory.",
    "executor_lost": "A Spark executor was lost: check the cluster manager's log of it "
    "(memory limits, preemption); the batch can be run again.",
    "out_of_memory": "Give the executors more memory or make batches smaller.",
    "service_unreachable": "Check that the service is up and reachable from the workers; the "
    "batch can be run again.",
    "service_failed": "The service's on_failure is 'fail'.",
    "spark": "The Spark application stopped or the job was cancelled.",
}


@dataclass(frozen=True)
class NotAboutRows:
    """A failure that re-running on fewer rows cannot isolate."""

    kind: str
    """``missing_module``, ``python_worker``, ``executor_lost``, ``out_of_memory``,
    ``service_unreachable``, ``service_failed`` or ``spark``."""
    cause: str
    """The real cause, one line (the Python exception or the Java message)."""
    module: str | None = None
    """The module the workers could not import (``missing_module``)."""

    @property
    def hint(self) -> str:
        """What to do about it."""
        return _HINTS[self.kind]


def python_error(exc: BaseException) -> tuple[str, str] | None:
    """``(type name, message)`` of the exception a Python worker raised, from its traceback;
    ``None`` when ``exc`` is not a Python worker's exception."""
    text = _worker_traceback(exc)
    if text is None:
        return None
    lines = text.rstrip().splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith('  File "')]
    start = frames[-1] + 1 if frames else 0
    # After the last frame come its indented source and caret lines, then the exception.
    for i in range(start, len(lines)):
        if lines[i] and not lines[i].startswith(" "):
            match = _PY_HEADER.match(lines[i])
            if match:
                rest = [match.group(2) or "", *lines[i + 1 :]]
                return match.group(1), "\n".join(rest).strip()
            break
    return None


def summary(exc: BaseException) -> str:
    """One line saying what failed: for a Python worker's exception its type and message
    (not PySpark's "An exception was thrown from the Python worker" banner), otherwise the
    exception's type and first line."""
    found = python_error(exc)
    if found is not None:
        name, message = found
        first = message.splitlines()[0] if message else ""
        return f"{name}: {first}"[:500] if first else name
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:500] if text else ''}"


def not_about_rows(exc: BaseException) -> NotAboutRows | None:
    """Classify a failed Spark job: what it was if no row can be blamed, else ``None``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _from_python(current) or _from_java(current) or _from_py4j(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _worker_traceback(exc: BaseException) -> str | None:
    from pyspark.errors import PythonException

    if not isinstance(exc, PythonException):
        return None
    params: dict[str, Any] | None = None
    try:
        params = exc.getMessageParameters()
    except Exception:  # the JVM may be gone
        params = None
    if params and isinstance(params.get("traceback"), str):
        return str(params["traceback"])
    return str(exc)


def _from_python(exc: BaseException) -> NotAboutRows | None:
    found = python_error(exc)
    if found is None:
        return None
    name, message = found
    first = message.splitlines()[0] if message else ""
    cause = f"{name}: {first}" if first else name
    short = name.rsplit(".", 1)[-1]
    if short in ("ModuleNotFoundError", "ImportError"):
        module = _NO_MODULE.search(message) or _CANNOT_IMPORT.search(message)
        return NotAboutRows("missing_module", cause, module.group(1) if module else None)
    if short == "MemoryError":
        return NotAboutRows("out_of_memory", cause)
    if name == SERVICE_UNREACHABLE:
        return NotAboutRows("service_unreachable", first or cause)
    if name == SERVICE_FAILURE:
        return NotAboutRows("service_failed", first or cause)
    text = _worker_traceback(exc) or ""
    # The worker failed while unpickling the function it was sent (a module or attribute that
    # differs on the workers), before it saw any row.
    if "in read_udfs" in text or "in read_command" in text:
        return NotAboutRows("python_worker", f"cannot load the function on the worker: {cause}")
    return None


_MEMORY_CONDITIONS = {
    "UNABLE_TO_ACQUIRE_MEMORY",
    "AGGREGATE_OUT_OF_MEMORY",
    "SPILL_OUT_OF_MEMORY",
    "POINTER_ARRAY_OUT_OF_MEMORY",
    "INTERNAL_ERROR_MEMORY",
}
_CANCELLED_CONDITIONS = {"SPARK_JOB_CANCELLED", "OPERATION_CANCELED"}


def _java_chain(exc: BaseException) -> list[tuple[str, str, str | None]]:
    """``(class name, first line of message, error condition)`` of each Java throwable in the
    cause chain of ``exc``; empty when it has none."""
    origin = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    chain: list[tuple[str, str, str | None]] = []
    if origin is None:
        return chain
    try:
        from spark_enrich._jvm import is_spark_throwable

        throwable = origin
        while throwable is not None and len(chain) < 20:
            condition = None
            if is_spark_throwable(throwable):
                condition = throwable.getCondition()
            message = str(throwable.getMessage() or "").strip()
            chain.append(
                (
                    str(throwable.getClass().getName()),
                    message.splitlines()[0] if message else "",
                    condition,
                )
            )
            throwable = throwable.getCause()
    except Exception:  # the JVM is gone: what was read so far is all there is
        pass
    return chain


def _from_java(exc: BaseException) -> NotAboutRows | None:
    for name, first, condition in _java_chain(exc):
        cause = f"{name}: {first}" if first else name
        if name == "java.lang.OutOfMemoryError" or condition in _MEMORY_CONDITIONS:
            return NotAboutRows("out_of_memory", cause)
        if condition in _CANCELLED_CONDITIONS:
            return NotAboutRows("spark", cause)
        # A stage failure carries the task's failure reason on its first line. Only the start
        # of that reason (the failure's own class or kind) is read: the rest may quote a row's
        # value ('FetchFailed' in a bad cast), and a row must never pass for the cluster.
        reason = _task_reason(first)
        if reason.startswith("java.lang.OutOfMemoryError"):
            return NotAboutRows("out_of_memory", first)
        if reason.startswith(("ExecutorLostFailure", "FetchFailed")):
            return NotAboutRows("executor_lost", first)
        if _PYTHON_WORKER_DIED.match(reason):
            return NotAboutRows("python_worker", first)
        if _CONTEXT_STOPPED.match(reason):
            return NotAboutRows("spark", first)
    return None


# TaskSetManager's "Lost task 3.3 in stage 7.0 (TID 41) (host executor 2): " before a reason.
_LOST_TASK = re.compile(r"Lost task \S+ in stage \S+ \(TID \d+\)(?: \([^)]*\))?: ")
_PYTHON_WORKER_DIED = re.compile(
    r"(?:[\w.$]+(?:Exception|Error): )?"
    r"(?:Python worker exited unexpectedly|Python worker failed|Cannot run program)"
)
_CONTEXT_STOPPED = re.compile(
    r"(?:Job \d+ cancelled because SparkContext was shut down"
    r"|Cannot call methods on a stopped SparkContext)"
)


def _task_reason(first: str) -> str:
    """The task's failure reason in a stage failure's first line, else the line itself."""
    _, marker, rest = first.partition("most recent failure: ")
    if not marker:
        return first
    lost = _LOST_TASK.match(rest)
    return rest[lost.end() :] if lost else rest


def _from_py4j(exc: BaseException) -> NotAboutRows | None:
    from py4j.protocol import Py4JNetworkError

    if isinstance(exc, Py4JNetworkError | ConnectionError):
        text = str(exc).strip()
        first = text.splitlines()[0] if text else ""
        return NotAboutRows("spark", f"lost the connection to the Spark driver's JVM: {first}")
    return None
