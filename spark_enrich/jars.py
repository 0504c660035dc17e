"""The engine's Maven jars (Delta Lake, Spark's Kafka connector and what they depend on) as
local files, resolved once by Spark's own Ivy.

``spark-submit --packages`` resolves them again on every start and prints Ivy's resolution
report (about a hundred lines, even from the cache); Spark has no setting that quiets it. A
command line with ``--jars`` naming the files starts without Ivy at all.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from spark_enrich.env import check_java
from spark_enrich.errors import EnvironmentProblem


def resolve_jars(packages: Sequence[str]) -> list[Path]:
    """The jar files of ``packages`` (Maven coordinates) and their dependencies, from Ivy's
    cache (downloaded from Maven Central the first time).

    Starts a JVM the way pyspark does, with ``spark.jars.packages``, reads the ``spark.jars``
    spark-submit resolved them to, and stops it; no SparkContext starts.

    Raises:
        EnvironmentProblem: ``JARS_NOT_RESOLVED`` with Spark's output (Java missing, Maven
            Central unreachable, an unknown coordinate).
    """
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway

    check_java()
    conf = SparkConf(loadDefaults=False)
    conf.set("spark.jars.packages", ",".join(packages))
    # Ivy's report goes to a file: shown only when the resolution fails.
    with tempfile.TemporaryFile() as output:
        try:
            gateway = launch_gateway(conf, popen_kwargs={"stderr": output})  # type: ignore[no-untyped-call]
        except Exception as exc:  # pyspark raises several types when the JVM does not start
            output.seek(0)
            shown = output.read().decode(errors="replace")[-4000:]
            raise EnvironmentProblem(
                "JARS_NOT_RESOLVED",
                f"Spark could not resolve the jars {', '.join(packages)}: {exc}\n{shown}",
                {"packages": list(packages), "cause": str(exc)},
            ) from exc
        try:
            resolved = gateway.jvm.java.lang.System.getProperty("spark.jars") or ""
        finally:
            _stop(gateway)
    return [Path(p.removeprefix("file:")) for p in resolved.split(",") if p]


def _stop(gateway: object) -> None:
    gateway.shutdown()  # type: ignore[attr-defined]
    proc = gateway.proc  # type: ignore[attr-defined]
    proc.stdin.close()  # PythonGatewayServer exits when its stdin closes
    try:
        proc.wait(timeout=30)
    except Exception:
        proc.kill()
        proc.wait()
