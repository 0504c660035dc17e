"""Offline-table snapshots owned by the engine: each table an executor joins is read at one
Delta version, prepared for its joins (:meth:`~spark_enrich.lookup.TableSpec.prepare`: one row
per key, or the ``as_of`` layout) and cached once, then served to every batch until the table
changes. At most every ``refresh`` interval (``enrichments.tables[].refresh``) one batch checks
the table's version; when it moved, a new snapshot is built and swapped in, and the old one is
released. ``every_batch`` reads and prepares the table for every batch, as the engine always did.

Why ``persist`` and not a local checkpoint (as :mod:`spark_enrich.materialize` uses for a
batch's own frames): a snapshot lives for hours, across micro-batches. A persisted frame keeps
its lineage, a read pinned to one Delta version, so blocks lost with an executor or evicted
under memory pressure are recomputed with the same rows; a local checkpoint's lost blocks fail
every later job. Its blocks are freed with a plain ``unpersist`` when it is swapped out, and a
batch still reading an unpersisted snapshot recomputes it from the pinned version instead of
failing. The MERGE that ignores Spark's cache (delta-io/delta#2011) never reads a snapshot: it
reads the batch's materialised output.

Example:
    >>> store = SnapshotStore(spark, [OfflineTable("pins", ref, spec, timedelta(minutes=5))])
    >>> store.refresh()          # at the start of a batch: {'pins': 3}  # doctest: +SKIP
    >>> store.frame("pins")      # the prepared, cached snapshot  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from spark_enrich.lookup import TableSpec
from spark_enrich.tables import TableRef

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

__all__ = ["OfflineTable", "SnapshotStore", "TableSnapshot"]


@dataclass(frozen=True)
class OfflineTable:
    """An offline table as the configuration declares it: where it is, how it is joined, and
    how often its version is checked (``None``: for every batch)."""

    name: str
    ref: TableRef
    spec: TableSpec
    refresh: timedelta | None


@dataclass(frozen=True)
class TableSnapshot:
    """One prepared read of a table at one Delta version."""

    name: str
    version: int
    frame: DataFrame
    """Prepared for joins; persisted unless the table refreshes for every batch."""
    cached: bool
    build: int
    """Counts the snapshots the store built for this table: 1 for the first."""


class SnapshotStore:
    """The snapshots of one compiled pipeline's offline tables (one Spark session).

    Batches run one after another on a pipeline, so a snapshot is never swapped while a batch
    reads it; the lock only keeps two threads from building the same snapshot twice.

    Args:
        spark: the session the snapshots are read and cached in.
        tables: the tables executors join.
        clock: seconds, monotonic (tests pass a fake one).
    """

    def __init__(
        self,
        spark: SparkSession,
        tables: Iterable[OfflineTable],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._spark = spark
        self._tables = {t.name: t for t in tables}
        self._clock = clock
        self._current: dict[str, TableSnapshot] = {}
        self._checked_at: dict[str, float] = {}
        self._lock = threading.RLock()

    @property
    def names(self) -> list[str]:
        """The tables the store serves."""
        return sorted(self._tables)

    def spec(self, name: str) -> TableSpec:
        """How table ``name`` is joined."""
        return self._tables[name].spec

    def refresh(self) -> dict[str, int]:
        """Make every table's snapshot current as its ``refresh`` asks (called when a batch
        starts) and return the Delta version each table is served at.

        Raises:
            Exception: a table cannot be read (missing, unreachable): the batch fails.
        """
        with self._lock:
            for table in self._tables.values():
                if self._due(table):
                    self._check(table)
            return self.versions()

    def expire(self) -> None:
        """Have the next :meth:`refresh` check every table's version (a new run starts: it
        must not keep a snapshot from before its start for a whole interval)."""
        with self._lock:
            self._checked_at.clear()

    def frame(self, name: str) -> DataFrame:
        """The current snapshot of ``name``, prepared for joins (built now if there is none)."""
        with self._lock:
            if name not in self._current:
                self._check(self._tables[name])
            return self._current[name].frame

    def current(self, name: str) -> TableSnapshot | None:
        """The snapshot of ``name`` batches are served now, if one was built."""
        return self._current.get(name)

    def versions(self) -> dict[str, int]:
        """Table name -> the Delta version of its current snapshot (built snapshots only)."""
        return {name: snap.version for name, snap in sorted(self._current.items())}

    def close(self) -> None:
        """Release every cached snapshot."""
        with self._lock:
            for snap in self._current.values():
                _release(snap)
            self._current.clear()
            self._checked_at.clear()

    def _due(self, table: OfflineTable) -> bool:
        checked = self._checked_at.get(table.name)
        if table.refresh is None or checked is None:
            return True
        return self._clock() - checked >= table.refresh.total_seconds()

    def _check(self, table: OfflineTable) -> None:
        """One cheap look-up of the table's version; a new snapshot only when it moved (or
        the table refreshes for every batch)."""
        version = table.ref.version(self._spark)
        self._checked_at[table.name] = self._clock()
        old = self._current.get(table.name)
        if old is not None and old.version == version and table.refresh is not None:
            return
        new = self._build(table, version, (old.build if old else 0) + 1)
        self._current[table.name] = new
        if old is not None:
            if old.version != version:
                log.info("table %s: version %s replaces %s", table.name, version, old.version)
            _release(old)

    def _build(self, table: OfflineTable, version: int, build: int) -> TableSnapshot:
        from pyspark import StorageLevel

        prepared = table.spec.prepare(table.ref.read(self._spark, version=version))
        if table.refresh is None:
            # Every batch reads it again: caching would cost a job and save nothing.
            return TableSnapshot(table.name, version, prepared, cached=False, build=build)
        prepared = prepared.persist(StorageLevel.MEMORY_AND_DISK)
        prepared.count()  # built now, not by the first batch's job
        return TableSnapshot(table.name, version, prepared, cached=True, build=build)


def _release(snapshot: TableSnapshot) -> None:
    if snapshot.cached:
        snapshot.frame.unpersist(blocking=False)
