"""Delta commit discipline shared by the sink and the dead-letter table: idempotent transactions
(``txnAppId``/``txnVersion``), commit metadata, table creation and conflict retries."""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from spark_enrich.sqltext import ident, literal

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

log = logging.getLogger(__name__)
T = TypeVar("T")

_TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
_TXN_VERSION = "spark.databricks.delta.write.txnVersion"
_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
_MATERIALIZE_SOURCE = "spark.databricks.delta.merge.materializeSource"
_SESSION_COMMIT_LOCK = threading.RLock()


@dataclass(frozen=True)
class Txn:
    """An idempotent-write identity: Delta skips a second commit with the same pair."""

    app_id: str
    version: int


@contextlib.contextmanager
def commit_settings(
    spark: SparkSession,
    *,
    txn: Txn | None,
    user_metadata: str | None,
    materialized_source: bool = False,
) -> Iterator[None]:
    """Set Delta's idempotent-DML and commit-metadata session settings for one commit.

    DataFrame writer options only cover appends; MERGE and replaceWhere honour these session
    settings, so the engine sets them around its own commits and always clears them after.
    Commits made this way in one process are serialised: the settings are shared by threads.

    ``materialized_source`` says a MERGE's source is already materialised (see
    :mod:`spark_enrich.materialize`): Delta then skips its own copy of the source, which it
    makes to guard against sources that change between its two passes.
    """
    settings = {}
    if materialized_source:
        settings[_MATERIALIZE_SOURCE] = "none"
    if txn is not None:
        settings[_TXN_APP_ID] = txn.app_id
        settings[_TXN_VERSION] = str(txn.version)
    if user_metadata is not None:
        settings[_USER_METADATA] = user_metadata
    # The settings belong to the session, which every thread shares (a stream's foreachBatch
    # and a backfill in one notebook): one commit at a time may hold them, or a commit could
    # carry another's txn and make Delta skip that other commit as a replay.
    with _SESSION_COMMIT_LOCK:
        for key, value in settings.items():
            spark.conf.set(key, value)
        try:
            yield
        finally:
            for key in settings:
                spark.conf.unset(key)


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a Delta optimistic-concurrency conflict worth retrying."""
    text = f"{type(exc).__name__} {exc}"
    return any(
        marker in text
        for marker in (
            "ConcurrentAppendException",
            "ConcurrentDeleteReadException",
            "ConcurrentDeleteDeleteException",
            "ConcurrentTransactionException",
            "MetadataChangedException",
            "ProtocolChangedException",
            "DELTA_CONCURRENT",
        )
    )


def with_conflict_retry(
    action: Callable[[], T], *, what: str, attempts: int = 6, base_delay: float = 0.5
) -> T:
    """Run ``action``, retrying Delta write conflicts with exponential backoff and jitter.

    Each attempt holds the session's commit lock (see :func:`commit_settings`), settings or
    not: Delta gives a commit without writer options the session's ``txnAppId``,
    ``txnVersion`` and ``userMetadata``, so a plain append while another thread's settings are
    set would record that thread's transaction and make Delta skip its real commit. A long
    action (OPTIMIZE) makes the other threads' commits in this process wait for it.
    """
    for attempt in range(1, attempts + 1):
        try:
            with _SESSION_COMMIT_LOCK:
                return action()
        except Exception as exc:
            if attempt == attempts or not is_conflict(exc):
                raise
            delay = base_delay * 2 ** (attempt - 1) * (1 + random.random())
            log.warning("%s: Delta conflict (attempt %d), retrying in %.1fs", what, attempt, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def ensure_table(
    spark: SparkSession,
    *,
    path: str | None,
    table: str | None,
    schema: StructType,
    partition_by: Sequence[str] = (),
    properties: Mapping[str, str] | None = None,
) -> None:
    """Create the Delta table with this schema, partitioning and properties if it is missing;
    set the ``properties`` an existing table lacks or holds with another value (properties the
    configuration no longer names are left as they are)."""
    from delta.tables import DeltaTable

    properties = {key: str(value) for key, value in (properties or {}).items()}
    builder = DeltaTable.createIfNotExists(spark)
    builder = builder.location(path) if path else builder.tableName(str(table))
    builder = builder.addColumns(schema)
    if partition_by:
        builder = builder.partitionedBy(*partition_by)
    for key, value in properties.items():
        builder = builder.property(key, value)
    with_conflict_retry(builder.execute, what=f"create {path or table}")
    if properties:
        _set_changed_properties(spark, path=path, table=table, properties=properties)


def add_missing_columns(
    spark: SparkSession, *, path: str | None, table: str | None, schema: StructType
) -> None:
    """Add the top-level columns of ``schema`` that the existing table lacks (a table created
    by an older engine version), as nullable columns at the end."""
    present = {name.lower() for name in read_table(spark, path=path, table=table).columns}
    missing = [f for f in schema.fields if f.name.lower() not in present]
    if not missing:
        return
    target = f"delta.{ident(str(path))}" if path else str(table)
    columns = ", ".join(f"{ident(f.name)} {f.dataType.simpleString()}" for f in missing)
    log.info("%s: adding columns %s", path or table, [f.name for f in missing])
    with_conflict_retry(
        lambda: spark.sql(f"ALTER TABLE {target} ADD COLUMNS ({columns})"),
        what=f"add columns to {path or table}",
    )


def _property_key(key: str) -> str:
    # Delta stores its own ``delta.*`` keys in canonical case, whatever case they were set in.
    return key.lower() if key.lower().startswith("delta.") else key


def _set_changed_properties(
    spark: SparkSession, *, path: str | None, table: str | None, properties: Mapping[str, str]
) -> None:
    current_row = delta_table(spark, path=path, table=table).detail().first()
    current = {_property_key(k): v for k, v in (current_row["properties"] or {}).items()}
    changed = {k: v for k, v in properties.items() if current.get(_property_key(k)) != v}
    if not changed:
        return
    target = f"delta.{ident(str(path))}" if path else str(table)
    assignments = ", ".join(f"{literal(k)} = {literal(v)}" for k, v in changed.items())
    log.info("%s: setting table properties %s", path or table, sorted(changed))
    with_conflict_retry(
        lambda: spark.sql(f"ALTER TABLE {target} SET TBLPROPERTIES ({assignments})"),
        what=f"set properties of {path or table}",
    )


def delta_table(spark: SparkSession, *, path: str | None, table: str | None):  # type: ignore[no-untyped-def]
    """The :class:`delta.tables.DeltaTable` at ``path`` or named ``table``."""
    from delta.tables import DeltaTable

    return DeltaTable.forPath(spark, path) if path else DeltaTable.forName(spark, str(table))


def read_table(spark: SparkSession, *, path: str | None, table: str | None) -> DataFrame:
    """The Delta table at ``path`` or named ``table`` as a DataFrame."""
    reader = spark.read.format("delta")
    return reader.load(path) if path else reader.table(str(table))


def table_version(spark: SparkSession, *, path: str | None, table: str | None) -> int:
    """The table's current version (-1 for a table without commits)."""
    row = delta_table(spark, path=path, table=table).history(1).first()
    return int(row["version"]) if row is not None else -1


def committed_txn_version(
    spark: SparkSession, *, path: str | None, table: str | None, app_id: str
) -> int:
    """The last ``txnVersion`` the table committed under ``app_id`` (-1: none, or no table).

    Read from the table's Delta log through the driver's JVM (the Python API does not expose
    the log's transactions); without one (Spark Connect) it is -1, as for a table never
    written under ``app_id``.
    """
    jvm: Any = spark._jvm
    if jvm is None:
        return -1
    jspark: Any = spark._jsparkSession
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog
    if path:
        log_ = delta_log.forTable(jspark, path)
    else:
        if not spark.catalog.tableExists(str(table)):
            return -1
        name = jspark.sessionState().sqlParser().parseTableIdentifier(str(table))
        log_ = delta_log.forTable(jspark, name)
    # A transaction that is never committed: it only reads the latest snapshot.
    return int(log_.startTransaction().txnVersion(app_id))


def merge_into(
    spark: SparkSession,
    *,
    path: str | None,
    table: str | None,
    source: DataFrame,
    condition: str,
    clauses: Callable[[Any], Any],
    counted: Sequence[str],
    txn: Txn | None,
    user_metadata: str | None,
    what: str,
) -> int:
    """MERGE ``source`` (alias ``s``, already materialised) into the table (alias ``t``) with
    the ``clauses`` applied to Delta's merge builder; retried on conflicts.

    Returns:
        The sum of the ``counted`` columns of the MERGE's own result (``num_inserted_rows``,
        ...: no history look-up, so a concurrent writer's commit cannot be mistaken for ours);
        0 when Delta skipped an idempotent retry, for which MERGE returns no result row.
    """

    def merge() -> int:
        with commit_settings(spark, txn=txn, user_metadata=user_metadata, materialized_source=True):
            builder = (
                delta_table(spark, path=path, table=table)
                .alias("t")
                .merge(source.alias("s"), condition)
            )
            rows = clauses(builder).execute().collect()
        return sum(int(rows[0][name]) for name in counted) if rows else 0

    return with_conflict_retry(merge, what=what)


def insert_new(
    spark: SparkSession,
    *,
    path: str | None,
    table: str | None,
    source: DataFrame,
    condition: str,
    txn: Txn | None,
    user_metadata: str | None,
    what: str,
) -> int:
    """:func:`merge_into` inserting the rows that match no target row on ``condition``;
    returns the rows inserted."""
    return merge_into(
        spark, path=path, table=table, source=source, condition=condition,
        clauses=lambda builder: builder.whenNotMatchedInsertAll(),
        counted=("num_inserted_rows",), txn=txn, user_metadata=user_metadata, what=what,
    )  # fmt: skip


def rows_added(
    spark: SparkSession,
    *,
    path: str | None,
    table: str | None,
    after: int,
    metric: str,
    marker: str | None,
) -> int:
    """Rows our commit added after version ``after``: 0 when Delta skipped an idempotent
    retry. ``marker`` (the commit's user metadata) tells our commit from a concurrent writer's.
    """
    from pyspark.sql import functions as F

    history = delta_table(spark, path=path, table=table).history(20)
    ours = F.col("version") > after
    if marker is not None:
        ours = ours & (F.col("userMetadata") == marker)
    added = 0
    for row in history.where(ours).collect():
        metrics = row["operationMetrics"] or {}
        added += int(metrics.get(metric, 0) or 0)
    return added
