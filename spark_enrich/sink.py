"""The Delta sink: append, merge on the event key, or fold into per-group sequences
(:mod:`spark_enrich.sequence`); partitioned, with table properties and commit metadata;
idempotent per micro-batch and exact per backfill date range."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from spark_enrich.columns import METADATA_COLUMNS, SOURCE_TYPE
from spark_enrich.conform import OutputContract
from spark_enrich.decode import parse_schema
from spark_enrich.delta_commit import (
    Txn,
    commit_settings,
    insert_new,
    rows_added,
    with_conflict_retry,
)
from spark_enrich.sequence import SequenceFold
from spark_enrich.sqltext import ident, literal
from spark_enrich.tables import SessionMemo, TableRef

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

METADATA_DDL = (
    f"_executor STRING, _executor_version STRING, _source {SOURCE_TYPE}, "
    "_ingested_at TIMESTAMP, _run_id STRING"
)


@dataclass(frozen=True)
class DateRange:
    """Half-open ``[start, end)`` range of ``column`` that a backfill replaces; unless
    ``allow_empty``, days the sink holds rows for may not be replaced with none."""

    column: str
    start: date
    end: date
    allow_empty: bool = False

    def predicate(self) -> str:
        column, start, end = ident(self.column), self.start.isoformat(), self.end.isoformat()
        return f"{column} >= '{start}' AND {column} < '{end}'"


@dataclass(frozen=True)
class DeltaSink:
    """The pipeline's output table."""

    table: TableRef
    mode: str
    contract: OutputContract
    partition_by: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    sequence: SequenceFold | None = None
    _ensured: SessionMemo = field(
        default_factory=SessionMemo, init=False, compare=False, repr=False
    )

    def row_schema(self) -> StructType:
        """The rows written: contract columns followed by the engine's metadata columns."""
        return parse_schema(f"{self.contract.ddl()}, {METADATA_DDL}")

    def schema(self) -> StructType:
        """The table: the written rows, or with ``mode: sequence`` one row per group."""
        rows = self.row_schema()
        return rows if self.sequence is None else self.sequence.table_schema(rows)

    def ensure(self, spark: SparkSession) -> None:
        """Create the table (schema, partitioning, properties) if it is missing, and refuse a
        sequence table laid out for another configuration; once per session (a check costs a
        Delta snapshot, which a stream would pay every micro-batch)."""
        self._ensured.once(spark, lambda: self._create(spark))

    def _create(self, spark: SparkSession) -> None:
        self.table.ensure(
            spark, self.schema(), partition_by=self.partition_by, properties=self.properties
        )
        if self.sequence is not None:
            stored = self.read(spark).schema
            self.sequence.check_table(stored, self.row_schema(), self.table.location)

    def read(self, spark: SparkSession) -> DataFrame:
        """The output table."""
        return self.table.read(spark)

    def committed(self, spark: SparkSession, txn: Txn) -> bool:
        """Whether the idempotent write ``txn`` is committed here already (Delta would skip
        it)."""
        return self.table.committed_txn_version(spark, txn.app_id) >= txn.version

    def write(
        self,
        spark: SparkSession,
        rows: DataFrame,
        *,
        txn: Txn | None,
        user_metadata: str,
        replace: DateRange | None = None,
    ) -> int:
        """Write ``rows`` (contract + metadata columns) and return how many rows were added.

        ``rows`` must read materialised frames (:mod:`spark_enrich.materialize`): a ``merge``
        reads them without Delta's own copy of the source.

        ``replace`` overwrites exactly that date range (backfills); otherwise ``merge`` mode
        inserts only keys not in the table yet and ``append`` mode appends. ``sequence`` mode
        folds the rows into their groups' sequences, backfills included: a sequence spans
        dates, so a range cannot be replaced; the fold replaces reprocessed events instead,
        and returns the sequences written. ``txn`` makes the commit idempotent: Delta skips it
        when the same (app id, version) already committed.
        """
        self.ensure(spark)
        columns = [*self.contract.names, *METADATA_COLUMNS]
        rows = rows.select(*(F.col(ident(c)) for c in columns))
        if self.sequence is not None:
            return self.sequence.write(
                spark,
                rows,
                self.table,
                scope=self._partition_scope(rows, self.sequence.group_by),
                txn=txn,
                user_metadata=user_metadata,
            )
        if replace is not None:
            return self._replace(spark, rows, replace, txn, user_metadata)
        if self.mode == "merge":
            return self._merge(spark, rows, txn, user_metadata)
        return self._append(spark, rows, txn, user_metadata)

    def days_emptied(
        self, spark: SparkSession, rows: DataFrame | None, replace: DateRange, written: int
    ) -> dict[date, int]:
        """The days of ``replace`` that the sink holds rows for and ``rows`` (``written`` of
        them) has none of, with the rows the sink holds: what replacing would empty.

        Costs one per-day count of the range in the sink (partition-pruned when partitioned by
        the date column) and, for a range of several days with rows to write, one aggregation
        over ``rows``; nothing for a one-day range with rows. Empty for a sequence sink (it
        folds, never replaces).
        """
        days = (replace.end - replace.start).days
        if self.sequence is not None or (written and days <= 1):
            return {}
        self.ensure(spark)
        day = F.to_date(F.col(ident(replace.column))).alias("day")
        held = {
            r["day"]: int(r["count"])
            for r in self.read(spark).where(replace.predicate()).groupBy(day).count().collect()
        }
        if not held or rows is None or not written:
            return held
        found = {r["day"] for r in rows.where(replace.predicate()).select(day).distinct().collect()}
        return {d: n for d, n in held.items() if d not in found}

    def _append(
        self, spark: SparkSession, rows: DataFrame, txn: Txn | None, user_metadata: str
    ) -> int:
        def append() -> None:
            writer = rows.write.format("delta").mode("append").option("userMetadata", user_metadata)
            if txn is not None:
                writer = writer.option("txnAppId", txn.app_id).option("txnVersion", txn.version)
            self.table.save(writer)

        version = self._version(spark)
        with_conflict_retry(append, what="sink append")
        return self._rows_added(spark, version, "numOutputRows", user_metadata)

    def _replace(
        self,
        spark: SparkSession,
        rows: DataFrame,
        replace: DateRange,
        txn: Txn | None,
        user_metadata: str,
    ) -> int:
        key = list(self.contract.key)
        deduped = rows.dropDuplicates(key) if self.mode == "merge" else rows

        def overwrite() -> None:
            with commit_settings(spark, txn=txn, user_metadata=user_metadata):
                writer = (
                    deduped.write.format("delta")
                    .mode("overwrite")
                    .option("replaceWhere", replace.predicate())
                )
                self.table.save(writer)

        version = self._version(spark)
        with_conflict_retry(overwrite, what="sink replace")
        return self._rows_added(spark, version, "numOutputRows", user_metadata)

    def _merge(
        self, spark: SparkSession, rows: DataFrame, txn: Txn | None, user_metadata: str
    ) -> int:
        key = list(self.contract.key)
        # MERGE needs unique source keys; duplicates within one batch are the same event.
        source = rows.dropDuplicates(key)
        condition = " AND ".join(f"t.{ident(k)} = s.{ident(k)}" for k in key)
        scope = self._partition_scope(rows, self.contract.key)
        if scope is not None:
            condition = f"{condition} AND {scope}"
        return insert_new(
            spark,
            self.table,
            source=source,
            condition=condition,
            txn=txn,
            user_metadata=user_metadata,
            what="sink merge",
        )

    def _partition_scope(self, rows: DataFrame, key: Sequence[str]) -> str | None:
        """A predicate on the target's partition columns that are part of ``key`` (the MERGE's
        match columns): their values in ``rows``. Rows can only match target rows holding the
        same values, so the MERGE then reads only the partitions this batch writes to, instead
        of the whole table (a cost that grows with the table, every micro-batch); Delta prunes
        files on target-only predicates.
        ``None`` when no partition column is in the key."""
        columns = [c for c in self.partition_by if c in key]
        if not columns:
            return None
        types = {c.name: c.type for c in self.contract.columns}
        found = rows.selectExpr(*(f"CAST({ident(c)} AS STRING)" for c in columns)).distinct()
        values = [tuple(r) for r in found.collect()]
        if not values or any(v is None for row in values for v in row):
            return None  # key columns are never null in conformed rows; do not guess
        terms = []
        for i, column in enumerate(columns):
            listed = sorted({row[i] for row in values})
            items = ", ".join(f"CAST({literal(v)} AS {types[column]})" for v in listed)
            terms.append(f"t.{ident(column)} IN ({items})")
        return " AND ".join(terms)

    def _version(self, spark: SparkSession) -> int:
        return self.table.version(spark)

    def _rows_added(self, spark: SparkSession, before: int, metric: str, marker: str) -> int:
        return rows_added(spark, self.table, after=before, metric=metric, marker=marker)


def user_metadata(
    pipeline: str, config_hash: str, executors: Sequence[tuple[str, str]], **extra: object
) -> str:
    """The JSON recorded in every commit: pipeline, config hash and executor versions."""
    return json.dumps(
        {
            "pipeline": pipeline,
            "config_hash": config_hash,
            "executors": {name: version for name, version in executors},
            **extra,
        },
        sort_keys=True,
    )
