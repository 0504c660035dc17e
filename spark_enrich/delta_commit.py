"""Delta commit discipline shared by the sink, the dead-letter table and maintenance: idempotent
transactions (``txnAppId``/``txnVersion``), commit metadata, the process-wide commit lock and
retries of Delta's typed conflict exceptions. Which table, and reading or creating it, is
:mod:`spark_enrich.tables`."""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from delta.tables import DeltaMergeBuilder
    from pyspark.sql import DataFrame, SparkSession

    from spark_enrich.tables import TableRef

log = logging.getLogger(__name__)
T = TypeVar("T")

_TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
_TXN_VERSION = "spark.databricks.delta.write.txnVersion"
_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
_MATERIALIZE_SOURCE = "spark.databricks.delta.merge.materializeSource"
# Takes precedence over the table property `delta.autoOptimize.optimizeWrite` (a writer option
# `optimizeWrite` over both, but MERGE takes no writer options).
_OPTIMIZE_WRITE = "spark.databricks.delta.optimizeWrite.enabled"
_SESSION_COMMIT_LOCK = threading.RLock()


@dataclass(frozen=True)
class Txn:
    """An idempotent-write identity: Delta skips a second commit with the same pair.

    ``may_be_retry`` is False when the caller knows that no earlier attempt of this write
    exists (a stream's micro-batches after the first one of a run: a run retries nothing but
    the batch it starts with). The engine then skips the look-ups that find an earlier
    attempt (the sink's and the dead-letter table's transaction versions): a micro-batch
    would pay a Delta snapshot for each.
    """

    app_id: str
    version: int
    may_be_retry: bool = field(default=True, compare=False)


@contextlib.contextmanager
def commit_settings(
    spark: SparkSession,
    *,
    txn: Txn | None,
    user_metadata: str | None,
    materialized_source: bool = False,
    optimize_write: bool | None = None,
) -> Iterator[None]:
    """Set Delta's idempotent-DML and commit-metadata session settings for one commit.

    DataFrame writer options only cover appends; MERGE and replaceWhere honour these session
    settings, so the engine sets them around its own commits and always clears them after.
    Commits made this way in one process are serialised: the settings are shared by threads.

    ``materialized_source`` says a MERGE's source is already materialised (see
    :mod:`spark_enrich.materialize`): Delta then skips its own copy of the source, which it
    makes to guard against sources that change between its two passes. ``optimize_write``
    turns Delta's optimized writes on or off for the commit whatever the table's property says
    (None: the property decides).
    """
    settings = {}
    if materialized_source:
        settings[_MATERIALIZE_SOURCE] = "none"
    if optimize_write is not None:
        settings[_OPTIMIZE_WRITE] = str(optimize_write).lower()
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


def _conflict_types() -> tuple[type[BaseException], ...]:
    # Importing delta.exceptions also installs its conversion of Delta's JVM conflict
    # exceptions into these Python types (classic sessions; delta.connect does it for Connect).
    from delta import exceptions

    return (
        exceptions.DeltaConcurrentModificationException,
        exceptions.ConcurrentWriteException,
        exceptions.MetadataChangedException,
        exceptions.ProtocolChangedException,
        exceptions.ConcurrentAppendException,
        exceptions.ConcurrentDeleteReadException,
        exceptions.ConcurrentDeleteDeleteException,
        exceptions.ConcurrentTransactionException,
    )


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a Delta optimistic-concurrency conflict worth retrying: one of
    :mod:`delta.exceptions`' types, raised directly or as the cause of another exception
    (a conflict thrown inside another JVM exception, or chained in Python)."""
    types = _conflict_types()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, types):
            return True
        seen.add(id(current))
        # PySpark keeps a converted JVM cause in ``_cause`` (it has no public accessor).
        cause = getattr(current, "_cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return False


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
    _conflict_types()  # before the first commit: the import installs the conversion
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


def merge_into(
    spark: SparkSession,
    target: TableRef,
    *,
    source: DataFrame,
    condition: str,
    clauses: Callable[[DeltaMergeBuilder], DeltaMergeBuilder],
    counted: Sequence[str],
    txn: Txn | None,
    user_metadata: str | None,
    what: str,
    optimize_write: bool | None = None,
) -> int:
    """MERGE ``source`` (alias ``s``, already materialised) into the table (alias ``t``) with
    the ``clauses`` applied to Delta's merge builder; retried on conflicts.

    Returns:
        The sum of the ``counted`` columns of the MERGE's own result (``num_inserted_rows``,
        ...: no history look-up, so a concurrent writer's commit cannot be mistaken for ours);
        0 when Delta skipped an idempotent retry, for which MERGE returns no result row.
    """

    def merge() -> int:
        with commit_settings(
            spark,
            txn=txn,
            user_metadata=user_metadata,
            materialized_source=True,
            optimize_write=optimize_write,
        ):
            builder = target.delta_table(spark).alias("t").merge(source.alias("s"), condition)
            rows = clauses(builder).execute().collect()
        return sum(int(rows[0][name]) for name in counted) if rows else 0

    return with_conflict_retry(merge, what=what)


def insert_new(
    spark: SparkSession,
    target: TableRef,
    *,
    source: DataFrame,
    condition: str,
    txn: Txn | None,
    user_metadata: str | None,
    what: str,
    optimize_write: bool | None = None,
) -> int:
    """:func:`merge_into` inserting the rows that match no target row on ``condition``;
    returns the rows inserted."""
    return merge_into(
        spark, target, source=source, condition=condition,
        clauses=lambda builder: builder.whenNotMatchedInsertAll(),
        counted=("num_inserted_rows",), txn=txn, user_metadata=user_metadata, what=what,
        optimize_write=optimize_write,
    )  # fmt: skip


def rows_added(
    spark: SparkSession,
    target: TableRef,
    *,
    after: int,
    metric: str,
    marker: str | None,
) -> int:
    """Rows our commit added after version ``after``: 0 when Delta skipped an idempotent
    retry. ``marker`` (the commit's user metadata) tells our commit from a concurrent writer's.
    """
    from pyspark.sql import functions as F

    history = target.history(spark, 20)
    ours = F.col("version") > after
    if marker is not None:
        ours = ours & (F.col("userMetadata") == marker)
    added = 0
    for row in history.where(ours).collect():
        metrics = row["operationMetrics"] or {}
        added += int(metrics.get(metric, 0) or 0)
    return added
