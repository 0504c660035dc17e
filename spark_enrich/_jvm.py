"""The one module that reaches Spark and Delta internals through py4j, for what has no public
Python API: a table's committed transaction versions and its latest version (without a Spark
job), a plan's explain string, the blocks of a local checkpoint, a Hadoop file system, the py4j
gateway pyspark holds for this process.

Everything else in the engine uses public APIs only; keeping these calls here means a Spark or
Delta upgrade that moves an internal breaks one module. Under Spark Connect there is no driver
JVM in this process: each function says what it does then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def driver_jvm(spark: SparkSession) -> Any | None:
    """The driver's py4j JVM view; ``None`` for a Spark Connect session."""
    return getattr(spark, "_jvm", None)


def _delta_log(spark: SparkSession, *, path: str | None, name: str | None) -> Any | None:
    """The ``DeltaLog`` of a table by path or catalog name (None: no driver JVM, or no table
    of that name)."""
    jvm = driver_jvm(spark)
    if jvm is None:
        return None
    jspark: Any = spark._jsparkSession
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog
    if path:
        return delta_log.forTable(jspark, path)
    if not spark.catalog.tableExists(str(name)):
        return None
    identifier = jspark.sessionState().sqlParser().parseTableIdentifier(str(name))
    return delta_log.forTable(jspark, identifier)


def committed_txn_version(
    spark: SparkSession, *, path: str | None, name: str | None, app_id: str
) -> int:
    """The last ``txnVersion`` a Delta table committed under ``app_id`` (-1: none, no table,
    or no driver JVM).

    Read from the table's Delta log (the Python API does not expose its transactions); without
    a driver JVM (Spark Connect) it is -1, as for a table never written under ``app_id``.
    """
    log_ = _delta_log(spark, path=path, name=name)
    if log_ is None:
        return -1
    # A transaction that is never committed: it only reads the latest snapshot.
    return int(log_.startTransaction().txnVersion(app_id))


def latest_delta_version(spark: SparkSession, *, path: str | None, name: str | None) -> int | None:
    """A Delta table's latest version, from its log (listed, not queried: no Spark job);
    None without a driver JVM or a table."""
    log_ = _delta_log(spark, path=path, name=name)
    if log_ is None:
        return None
    # A transaction that is never committed: it brings the snapshot up to date.
    return int(log_.startTransaction().snapshot().version())


def explain_string(df: DataFrame, mode: str) -> str:
    """``df``'s plan as text in an explain ``mode`` (``DataFrame.explain`` only prints it)."""
    jvm = driver_jvm(df.sparkSession)
    if jvm is None:
        raise RuntimeError("explaining a plan as text needs a classic Spark session")
    explain_mode = jvm.org.apache.spark.sql.execution.ExplainMode.fromString(mode)
    return str(df._jdf.queryExecution().explainString(explain_mode))


def unpersist_checkpointed(df: DataFrame) -> None:
    """Free the blocks of a locally checkpointed frame now.

    Through the context, not ``rdd.unpersist``: that one warns on every locally checkpointed
    RDD (its lineage is gone). Raises when ``df`` is not a classic, checkpointed frame.
    """
    rdd = df._jdf.queryExecution().logical().rdd()
    df.sparkSession._jsc.sc().unpersistRDD(rdd.id(), False)


def hadoop_file_system(spark: SparkSession, location: str) -> tuple[Any, Any] | None:
    """Hadoop's ``(Path, FileSystem)`` of ``location`` (any scheme the cluster knows: ``s3a://``,
    ``abfss://``, ``hdfs://``, a local folder), with the session's Hadoop configuration;
    ``None`` without a driver JVM (Spark Connect)."""
    jvm = driver_jvm(spark)
    if jvm is None:
        return None
    path = jvm.org.apache.hadoop.fs.Path(location)
    return path, path.getFileSystem(spark._jsc.hadoopConfiguration())


def hadoop_child(spark: SparkSession, parent: Any, name: str) -> Any:
    """The Hadoop ``Path`` of ``name`` inside the Hadoop ``Path`` ``parent``."""
    jvm = driver_jvm(spark)
    assert jvm is not None, "a Hadoop path exists only with a driver JVM"
    return jvm.org.apache.hadoop.fs.Path(parent, name)


def read_utf8(spark: SparkSession, stream: Any) -> str:
    """The rest of a Hadoop input ``stream`` as UTF-8 text."""
    jvm = driver_jvm(spark)
    assert jvm is not None, "a Hadoop stream exists only with a driver JVM"
    return str(jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))


def process_gateway() -> Any | None:
    """The py4j gateway pyspark holds for this process: ``None`` until a driver JVM was
    started here (pyspark keeps the first one for the life of the process)."""
    from pyspark import SparkContext

    return SparkContext._gateway


def adopt_gateway(gateway: Any) -> None:
    """Make pyspark use ``gateway`` (a JVM started here) for every later session."""
    from pyspark import SparkContext

    SparkContext._ensure_initialized(gateway=gateway)


def is_spark_throwable(throwable: Any) -> bool:
    """Whether a Java throwable (from py4j) is a ``SparkThrowable``, which has an error
    condition; False without a gateway."""
    from py4j.java_gateway import is_instance_of

    gateway = process_gateway()
    return gateway is not None and bool(
        is_instance_of(gateway, throwable, "org.apache.spark.SparkThrowable")
    )
