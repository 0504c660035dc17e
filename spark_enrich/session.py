"""The one place where spark-enrich gets a SparkSession.

Locally, ``get_spark()`` builds a session with Delta Lake and the Kafka connector: jars come from
Maven Central through Spark's own ``spark.jars.packages`` and are cached by Ivy, so only the
first start downloads anything. Under ``spark-submit`` (or in a notebook that already has a
session) it reuses the running session and never overrides settings the cluster made.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spark_enrich.env import check_java
from spark_enrich.errors import EnvironmentProblem

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


# The delta-spark 4.4.1 wheel on PyPI is a Python-only patch release: Maven Central has the Delta
# jars only up to 4.4.0, so configure_spark_with_delta_pip() (which copies the wheel's version)
# names a jar that does not exist. We pin the jar version that matches the wheel's minor release.
DELTA_JAR_VERSION = os.environ.get("SPARK_ENRICH_DELTA_JAR_VERSION", "4.4.0")


def delta_package() -> str:
    """Maven coordinate of the Delta jar for the installed Spark (``delta-spark_4.2_2.13``)."""
    import pyspark

    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{DELTA_JAR_VERSION}"


def kafka_package() -> str:
    """Maven coordinate of Spark's Kafka connector at exactly the installed pyspark version."""
    import pyspark

    return f"org.apache.spark:spark-sql-kafka-0-10_2.13:{pyspark.__version__}"


def local_defaults(*, ui: bool = False, shuffle_partitions: int | None = None) -> dict[str, str]:
    """Settings for a single-machine session; every one can be overridden by the caller."""
    cores = os.cpu_count() or 2
    return {
        "spark.sql.shuffle.partitions": str(shuffle_partitions or max(2, min(8, cores * 2))),
        "spark.default.parallelism": str(max(2, cores)),
        "spark.ui.enabled": "true" if ui else "false",
        "spark.ui.showConsoleProgress": "false",
        # Event dates and hour-of-week features must not depend on the machine's zone.
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.memory": os.environ.get("SPARK_ENRICH_DRIVER_MEMORY", "4g"),
        # Delta's state reconstruction defaults to 50 partitions: far too many for a laptop.
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.adaptive.enabled": "true",
        # With this on (Spark's default) every Column/DataFrame call walks the Python stack and
        # makes three extra py4j calls to record its call site for error messages: ~1 s per
        # executor per batch in plan building alone, paid again on every micro-batch.
        "spark.python.sql.dataFrameDebugging.enabled": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.extraJavaOptions": "-Dderby.system.home="
        + str(Path(os.environ.get("TMPDIR", "/tmp")) / "spark-enrich-derby"),
    }


def _running_under_spark_submit() -> bool:
    # spark-submit starts the JVM first and hands the py4j gateway to Python through this variable.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def get_spark(
    app_name: str = "spark-enrich",
    *,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    extra_packages: Sequence[str] = (),
    ui: bool = False,
) -> SparkSession:
    """Return a SparkSession ready for Delta Lake and Kafka.

    Args:
        app_name: the application name shown in the Spark UI and logs.
        master: the master URL; ``local[*]`` when neither this nor ``spark.master`` in ``conf``
            is given. Ignored when a session already runs (spark-submit, notebooks).
        conf: settings that override the local defaults.
        extra_packages: more Maven coordinates for ``spark.jars.packages``.
        ui: start the Spark web UI (off by default: tests and batch jobs do not need it).

    Returns:
        The active session if there is one, else a new local session.

    Raises:
        EnvironmentProblem: Java is missing or too old (``JAVA_NOT_FOUND``/``JAVA_TOO_OLD``), the
            jars could not be downloaded (``SPARK_START_FAILED``), or a reused session lacks the
            Delta extension (``DELTA_NOT_CONFIGURED``).

    Example:
        >>> spark = get_spark(conf={"spark.sql.shuffle.partitions": "4"})  # doctest: +SKIP
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None or _running_under_spark_submit():
        session = active or SparkSession.builder.appName(app_name).getOrCreate()
        _require_delta(session)
        return session

    check_java()
    # Keep the driver and its block manager on loopback: a local session needs no other network.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers (pandas UDFs, service calls) must run this interpreter, with its packages,
    # not whatever `python3` comes first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = local_defaults(ui=ui)
    settings["spark.sql.extensions"] = DELTA_EXTENSION
    settings["spark.sql.catalog.spark_catalog"] = DELTA_CATALOG
    settings.update(conf or {})
    builder = SparkSession.builder.appName(app_name).master(
        master or settings.pop("spark.master", "local[*]")
    )
    for key, value in settings.items():
        builder = builder.config(key, value)
    packages = [delta_package(), kafka_package(), *extra_packages]
    builder = builder.config("spark.jars.packages", ",".join(packages))
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j/pyspark raise several types here; all mean "JVM did not start"
        raise EnvironmentProblem(
            "SPARK_START_FAILED",
            "Spark's JVM did not start. With spark.jars.packages this is most often a jar that "
            "could not be downloaded from Maven Central (look for 'unresolved dependency' or "
            "'download failed' above). Check that this machine reaches Maven Central (proxy "
            "settings, or spark.jars.repositories for a mirror); once downloaded, jars are "
            f"cached by Ivy and later starts need no network. Packages: {packages}. "
            f"Cause: {exc}",
            {"packages": packages, "cause": str(exc)},
        ) from exc
    session.sparkContext.setLogLevel(os.environ.get("SPARK_ENRICH_LOG_LEVEL", "WARN"))
    return session


def _require_delta(session: SparkSession) -> None:
    extensions = session.conf.get("spark.sql.extensions", "") or ""
    if DELTA_EXTENSION not in extensions:
        raise EnvironmentProblem(
            "DELTA_NOT_CONFIGURED",
            "The running Spark session has no Delta Lake extension. Start it with "
            f"--packages {delta_package()},{kafka_package()} "
            f"--conf spark.sql.extensions={DELTA_EXTENSION} "
            f"--conf spark.sql.catalog.spark_catalog={DELTA_CATALOG}",
            {"found": extensions},
        )
