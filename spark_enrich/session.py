"""The one place where spark-enrich gets a SparkSession.

Locally, ``get_spark()`` builds a session with Delta Lake and the Kafka connector: jars come from
Maven Central through Spark's own ``spark.jars.packages`` and are cached by Ivy, so only the
first start downloads anything. Under ``spark-submit`` (or in a notebook that already has a
session) it reuses the running session and never overrides settings the cluster made.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spark_enrich.env import check_java
from spark_enrich.errors import EnvironmentProblem

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"

LOG_LEVEL_ENV = "SPARK_ENRICH_LOG_LEVEL"
# Root WARN, chatty-but-harmless loggers ERROR; levels come from the system properties we pass.
LOG4J_CONFIG = Path(__file__).with_name("log4j2-spark-enrich.properties")
_LOG4J_LEVELS = ("OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL")


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


def log_level() -> str:
    """The log level of local sessions: ``SPARK_ENRICH_LOG_LEVEL`` (what the CLI's ``--log-level``
    and ``-v`` set), else ``WARN``. At ``WARN`` and above Ivy's jar resolution report is hidden.

    Raises:
        EnvironmentProblem: the variable names no log4j level (``BAD_LOG_LEVEL``).
    """
    level = os.environ.get(LOG_LEVEL_ENV, "").strip().upper() or "WARN"
    if level == "WARNING":  # Python's spelling
        level = "WARN"
    if level not in _LOG4J_LEVELS:
        raise EnvironmentProblem(
            "BAD_LOG_LEVEL",
            f"{LOG_LEVEL_ENV}={level!r} is not a log level; use one of {', '.join(_LOG4J_LEVELS)}",
            {"found": level, "allowed": list(_LOG4J_LEVELS)},
        )
    return level


def _verbose(level: str) -> bool:
    return _LOG4J_LEVELS.index(level) > _LOG4J_LEVELS.index("WARN")


def _java_option(name: str, value: str) -> str:
    # Spark splits extraJavaOptions like a shell: quote values with spaces (a TMPDIR, a venv).
    return f'-D{name}="{value}"' if any(c.isspace() for c in value) else f"-D{name}={value}"


def local_defaults(*, ui: bool = False, shuffle_partitions: int | None = None) -> dict[str, str]:
    """Settings for a single-machine session; every one can be overridden by the caller."""
    cores = os.cpu_count() or 2
    level = log_level()
    java_options = [
        _java_option(
            "derby.system.home", str(Path(os.environ.get("TMPDIR", "/tmp")) / "spark-enrich-derby")
        ),
        _java_option("log4j.configurationFile", str(LOG4J_CONFIG)),
        _java_option("spark_enrich.log.level", level),
        # The loggers that are noisy at WARN stay at ERROR unless more than WARN is asked for.
        _java_option("spark_enrich.noisy.level", level if _verbose(level) else "ERROR"),
    ]
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
        "spark.driver.extraJavaOptions": " ".join(java_options),
    }


def _running_under_spark_submit() -> bool:
    # spark-submit starts the JVM first and hands the py4j gateway to Python through this variable.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def demo_conf(out: Path) -> dict[str, str]:
    """Settings of the demo's session: Spark's catalog folder (``spark.sql.warehouse.dir``,
    ``./spark-warehouse`` by default) inside the demo's output, not in the working folder."""
    return {"spark.sql.warehouse.dir": str(Path(out).resolve() / "spark-warehouse")}


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
        if os.environ.get(LOG_LEVEL_ENV):
            # Only when asked for: a cluster's or a notebook's own log settings otherwise stand.
            session.sparkContext.setLogLevel(log_level())
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
    settings["spark.master"] = master or settings.pop("spark.master", "local[*]")
    settings["spark.app.name"] = app_name
    packages = [delta_package(), kafka_package(), *extra_packages]
    settings["spark.jars.packages"] = ",".join(packages)
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    level = log_level()
    startup: _StartupOutput | None = None
    try:
        from spark_enrich._jvm import process_gateway

        # A JVM this process started before (a stopped session) is reused by pyspark as it is.
        if not _verbose(level) and process_gateway() is None:
            startup = _StartupOutput()
            startup.launch(settings)
        session = builder.getOrCreate()
    except Exception as exc:  # py4j/pyspark raise several types here; all mean "JVM did not start"
        if startup is not None:
            startup.show()  # the launcher's output explains a failed start: never hide it
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
    session.sparkContext.setLogLevel(level)
    return session


class _StartupOutput:
    """Holds the JVM's stderr until the JVM is up, then passes everything through to ours.

    spark-submit prints Ivy's resolution report (~100 lines on every start, even from the cache)
    and JVM notices before the gateway exists; nothing else is held back. ``show`` writes what
    was held, for a start that failed.
    """

    def __init__(self) -> None:
        self.marker = f"spark-enrich: JVM started {uuid.uuid4().hex}".encode()
        self._fd, self._write_fd = os.pipe()
        self._held = b""
        self._passing = False
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._pump, name="spark-enrich-jvm-stderr")
        self.thread.daemon = True  # the JVM outlives nothing: it exits with this process
        self.thread.start()

    def _pump(self) -> None:
        with os.fdopen(self._fd, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                with self._lock:
                    if not self._passing:
                        self._held += chunk
                        at = self._held.find(self.marker)
                        if at < 0:
                            continue
                        chunk = self._held[at + len(self.marker) :].lstrip(b"\r\n")
                        self._held = self._held[:at]
                        self._passing = True
                _write_stderr(chunk)

    def launch(self, settings: Mapping[str, str]) -> None:
        """Start the py4j JVM as pyspark would (the same spark-submit command and settings),
        its stderr going through this object; builder.getOrCreate() then uses that JVM."""
        from pyspark import SparkConf
        from pyspark.java_gateway import launch_gateway

        from spark_enrich._jvm import adopt_gateway

        conf = SparkConf()
        for key, value in settings.items():
            conf.set(key, value)
        try:
            gateway = launch_gateway(  # type: ignore[no-untyped-call]
                conf, popen_kwargs={"stderr": self._write_fd}
            )
        finally:
            os.close(self._write_fd)  # the JVM has its copy; ours would keep the pipe open
        # pyspark keeps the first gateway it is given for the life of the process.
        adopt_gateway(gateway)
        # The end of the startup output, written from inside the JVM so ordering is exact.
        err = gateway.jvm.java.lang.System.err
        err.println(self.marker.decode())
        err.flush()

    def show(self) -> None:
        """Write the held startup output (the JVM exited, or is running but failed)."""
        if not self._passing:  # the JVM exited: its last words are still on their way
            self.thread.join(timeout=5)
        with self._lock:
            held, self._held, self._passing = self._held, b"", True
        _write_stderr(held)


def _write_stderr(data: bytes) -> None:
    # Straight to file descriptor 2, where the JVM's stderr would have gone. A closed or broken
    # stderr drops the text: the pump must keep draining the pipe, or the JVM would block on
    # its next log line once the pipe is full.
    try:
        while data:
            data = data[os.write(2, data) :]
    except OSError:
        pass


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


@contextlib.contextmanager
def session_settings(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """``settings`` on the session for what runs inside (a query started inside keeps them: it
    copies the session's settings when it starts); the session gets its own values back after.
    """
    previous = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, before in previous.items():
            if before is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, before)
