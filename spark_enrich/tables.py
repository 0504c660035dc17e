"""Delta tables the engine reads and writes, named once: a :class:`TableRef` is a path or a
catalog name, and knows how to read the table, its current version, its Delta handle, and how
to create it (:meth:`TableRef.ensure`). Commit discipline (transactions, the commit lock,
conflict retries) is :mod:`spark_enrich.delta_commit`.

Example:
    >>> sink = TableRef.of(path="/data/enriched", table=None)
    >>> sink.location
    '/data/enriched'
    >>> sink.read(spark).count()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spark_enrich import _jvm
from spark_enrich.delta_commit import with_conflict_retry
from spark_enrich.sqltext import ident, literal

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, DataFrameWriter, SparkSession
    from pyspark.sql.types import StructType

log = logging.getLogger(__name__)

__all__ = ["SessionMemo", "TableRef"]


@dataclass(frozen=True)
class TableRef:
    """A Delta table by ``path`` or by catalog ``name`` (exactly one of them).

    Raises:
        ValueError: neither or both are given.
    """

    path: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.name is None):
            raise ValueError(
                f"a table is named by a path or by a catalog name, exactly one of them; "
                f"found path={self.path!r}, name={self.name!r}"
            )

    @classmethod
    def of(cls, *, path: str | None, table: str | None) -> TableRef:
        """The table a configuration section names with its ``path`` or ``table`` key (a path
        wins, as it always did, when a caller passes both)."""
        return cls(path=str(path)) if path else cls(name=table)

    @property
    def location(self) -> str:
        """The path or the name, for messages."""
        return str(self.path or self.name)

    def __str__(self) -> str:
        return self.location

    def sql(self) -> str:
        """The table in SQL text: ``delta.`<path>``` or the name."""
        return f"delta.{ident(self.path)}" if self.path else str(self.name)

    def exists(self, spark: SparkSession) -> bool:
        """Whether the table exists (a Delta table at the path, or the name in the catalog)."""
        from delta.tables import DeltaTable

        if self.path:
            return bool(DeltaTable.isDeltaTable(spark, self.path))
        return bool(spark.catalog.tableExists(str(self.name)))

    def delta_table(self, spark: SparkSession) -> DeltaTable:
        """The :class:`delta.tables.DeltaTable` handle (raises when there is no table)."""
        from delta.tables import DeltaTable

        if self.path:
            return DeltaTable.forPath(spark, self.path)
        return DeltaTable.forName(spark, str(self.name))

    def read(self, spark: SparkSession, *, version: int | None = None) -> DataFrame:
        """The table as a DataFrame: its latest version, or ``version`` (time travel)."""
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path) if self.path else reader.table(str(self.name))

    def version(self, spark: SparkSession) -> int:
        """The table's current version (-1 for a table without commits); raises when there is
        no table. The one way the engine reads a version."""
        # From the Delta log's listing: no query. A stream checks its offline tables' versions
        # on its micro-batches' thread, where DESCRIBE HISTORY cost ~150 ms a table.
        latest = _jvm.latest_delta_version(spark, path=self.path, name=self.name)
        if latest is not None and latest >= 0:
            return latest
        # No driver JVM (Spark Connect), or nothing in the log: the history tells a table
        # without commits (-1) from a path that holds no table (raises).
        row = self.delta_table(spark).history(1).select("version").first()
        return int(row["version"]) if row is not None else -1

    def history(self, spark: SparkSession, limit: int | None = None) -> DataFrame:
        """The table's commit history, newest first (``limit`` commits, or all)."""
        table = self.delta_table(spark)
        return table.history(limit) if limit is not None else table.history()

    def save(self, writer: DataFrameWriter) -> None:
        """Run a configured Delta ``writer`` against this table."""
        if self.path:
            writer.save(self.path)
        else:
            writer.saveAsTable(str(self.name))

    def committed_txn_version(self, spark: SparkSession, app_id: str) -> int:
        """The last ``txnVersion`` committed here under ``app_id`` (-1: none, or no table)."""
        return _jvm.committed_txn_version(spark, path=self.path, name=self.name, app_id=app_id)

    def ensure(
        self,
        spark: SparkSession,
        schema: StructType,
        *,
        partition_by: Sequence[str] = (),
        properties: Mapping[str, str] | None = None,
    ) -> None:
        """Create the table with this schema, partitioning and properties if it is missing; set
        the ``properties`` an existing table lacks or holds with another value (properties the
        configuration no longer names are left as they are)."""
        from delta.tables import DeltaTable

        properties = {key: str(value) for key, value in (properties or {}).items()}
        builder = DeltaTable.createIfNotExists(spark)
        builder = builder.location(self.path) if self.path else builder.tableName(str(self.name))
        builder = builder.addColumns(schema)
        if partition_by:
            builder = builder.partitionedBy(*partition_by)
        for key, value in properties.items():
            builder = builder.property(key, value)
        with_conflict_retry(builder.execute, what=f"create {self}")
        if properties:
            self._set_changed_properties(spark, properties)

    def add_missing_columns(self, spark: SparkSession, schema: StructType) -> None:
        """Add the top-level columns of ``schema`` that the existing table lacks (a table
        created by an older engine version), as nullable columns at the end."""
        present = {name.lower() for name in self.read(spark).columns}
        missing = [f for f in schema.fields if f.name.lower() not in present]
        if not missing:
            return
        columns = ", ".join(f"{ident(f.name)} {f.dataType.simpleString()}" for f in missing)
        log.info("%s: adding columns %s", self, [f.name for f in missing])
        with_conflict_retry(
            lambda: spark.sql(f"ALTER TABLE {self.sql()} ADD COLUMNS ({columns})"),
            what=f"add columns to {self}",
        )

    def _set_changed_properties(self, spark: SparkSession, properties: Mapping[str, str]) -> None:
        current_row = self.delta_table(spark).detail().first()
        stored = current_row["properties"] if current_row is not None else None
        current = {_property_key(k): v for k, v in (stored or {}).items()}
        changed = {k: v for k, v in properties.items() if current.get(_property_key(k)) != v}
        if not changed:
            return
        assignments = ", ".join(f"{literal(k)} = {literal(v)}" for k, v in changed.items())
        log.info("%s: setting table properties %s", self, sorted(changed))
        with_conflict_retry(
            lambda: spark.sql(f"ALTER TABLE {self.sql()} SET TBLPROPERTIES ({assignments})"),
            what=f"set properties of {self}",
        )


def _property_key(key: str) -> str:
    # Delta stores its own ``delta.*`` keys in canonical case, whatever case they were set in.
    return key.lower() if key.lower().startswith("delta.") else key


class SessionMemo:
    """Runs an action once per Spark session (for one owner: a sink, a dead-letter table).

    Sessions are held weakly: a stopped and collected session leaves no entry behind, and a new
    session never inherits an old one's entry (as an ``id()`` of a collected session could).
    """

    def __init__(self) -> None:
        self._done: weakref.WeakSet[SparkSession] = weakref.WeakSet()

    def once(self, spark: SparkSession, action: Callable[[], None]) -> None:
        """Run ``action`` unless it ran for ``spark`` already; a failed action runs again."""
        # No lock: two threads ensuring at once both run an idempotent action, and a lock here
        # could wait on the session's commit lock held by a thread that waits on this one.
        if spark in self._done:
            return
        action()
        self._done.add(spark)

    def __repr__(self) -> str:
        return "SessionMemo()"
