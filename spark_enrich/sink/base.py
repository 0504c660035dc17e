"""What every Delta sink strategy shares: the table, the row layout, creating the table once per
session, idempotency checks, and the range replacement of backfills."""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from spark_enrich.columns import METADATA_COLUMNS, SOURCE_TYPE
from spark_enrich.conform import OutputContract
from spark_enrich.decode import parse_schema
from spark_enrich.delta_commit import Txn, commit_settings, rows_added, with_conflict_retry
from spark_enrich.sink.dedup import Redeliveries
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
class DeltaSink(ABC):
    """The pipeline's output table; a strategy (:class:`~spark_enrich.sink.AppendSink`,
    :class:`~spark_enrich.sink.MergeSink`, :class:`~spark_enrich.sink.SequenceSink`) says how
    rows are written, chosen once when the pipeline is compiled
    (:func:`~spark_enrich.sink.make_sink`)."""

    table: TableRef
    contract: OutputContract
    partition_by: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    dedup: Redeliveries | None = field(default=None, kw_only=True)
    """Redeliveries dropped before the executors (``sink.dedup``); a stream then appends."""
    stream_optimize_write: bool = field(default=False, kw_only=True)
    """``runtime.stream.optimize_write``: whether a stream's commits use Delta's optimized
    writes (an extra shuffle per micro-batch), whatever the table's property says."""
    optimize_write: bool | None = field(default=None, kw_only=True)
    """Optimized writes for this sink's commits: None follows the table's property
    (``delta.autoOptimize.optimizeWrite``); :meth:`streaming` sets it."""
    _ensured: SessionMemo = field(
        default_factory=SessionMemo, init=False, compare=False, repr=False
    )

    def row_schema(self) -> StructType:
        """The rows written: contract columns followed by the engine's metadata columns."""
        return parse_schema(f"{self.contract.ddl()}, {METADATA_DDL}")

    def schema(self) -> StructType:
        """The table's schema (the written rows, unless a strategy stores them otherwise)."""
        return self.row_schema()

    def ensure(self, spark: SparkSession) -> None:
        """Create the table (schema, partitioning, properties) if it is missing and check an
        existing one; once per session (a check costs a Delta snapshot, which a stream would
        pay every micro-batch)."""
        self._ensured.once(spark, lambda: self._create(spark))

    def _create(self, spark: SparkSession) -> None:
        self.table.ensure(
            spark, self.schema(), partition_by=self.partition_by, properties=self.properties
        )

    def read(self, spark: SparkSession) -> DataFrame:
        """The output table."""
        return self.table.read(spark)

    def committed(self, spark: SparkSession, txn: Txn) -> bool:
        """Whether the idempotent write ``txn`` is committed here already (Delta would skip
        it)."""
        return self.table.committed_txn_version(spark, txn.app_id) >= txn.version

    def publish_online(self, spark: SparkSession, rows: DataFrame | None) -> None:
        """Copy what ``rows`` changed to the online store: nothing, unless the strategy keeps
        one (:class:`~spark_enrich.sink.SequenceSink` with ``sink.online``). Also called for a
        batch whose Delta commit happened before (a replay), whose store write may not have."""
        return None

    def insert_only(self) -> DeltaSink:
        """This sink writing only keys it does not hold yet (a dead-letter replay)."""
        return self

    @cached_property
    def for_stream(self) -> DeltaSink:
        """The sink a stream's micro-batches are written to: this one, or with ``dedup`` an
        append to the same table (the stream dropped redeliveries before ``foreachBatch``, and
        the commit's ``txnAppId``/``txnVersion`` keeps a replayed micro-batch out). One object
        per sink, so that it checks the table once per session."""
        return self.streaming()

    def streaming(self) -> DeltaSink:
        """This sink with a stream's write settings (``runtime.stream.optimize_write``)."""
        return dataclasses.replace(self, optimize_write=self.stream_optimize_write)

    def without_redeliveries(self, envelope: DataFrame) -> DataFrame:
        """``envelope`` with one delivery of each event id, when the sink drops redeliveries
        (``sink.dedup``); as it is otherwise."""
        return envelope if self.dedup is None else self.dedup.in_batch(envelope)

    def write(
        self,
        spark: SparkSession,
        rows: DataFrame,
        *,
        txn: Txn | None,
        user_metadata: str,
        replace: DateRange | None = None,
    ) -> int:
        """Write ``rows`` (contract + metadata columns) and return how many rows were added
        (a sequence sink: the sequences written).

        ``rows`` must read materialised frames (:mod:`spark_enrich.materialize`): a MERGE
        reads them without Delta's own copy of the source. ``replace`` overwrites exactly that
        date range (backfills) where the strategy replaces ranges. ``txn`` makes the commit
        idempotent: Delta skips it when the same (app id, version) already committed.
        """
        self.ensure(spark)
        columns = [*self.contract.names, *METADATA_COLUMNS]
        rows = rows.select(*(F.col(ident(c)) for c in columns))
        return self._write(spark, rows, txn=txn, user_metadata=user_metadata, replace=replace)

    @abstractmethod
    def _write(
        self,
        spark: SparkSession,
        rows: DataFrame,
        *,
        txn: Txn | None,
        user_metadata: str,
        replace: DateRange | None,
    ) -> int: ...

    def days_emptied(
        self, spark: SparkSession, rows: DataFrame | None, replace: DateRange, written: int
    ) -> dict[date, int]:
        """The days of ``replace`` that the sink holds rows for and ``rows`` (``written`` of
        them) has none of, with the rows the sink holds: what replacing would empty.

        Costs one per-day count of the range in the sink (partition-pruned when partitioned by
        the date column) and, for a range of several days with rows to write, one aggregation
        over ``rows``; nothing for a one-day range with rows.
        """
        days = (replace.end - replace.start).days
        if written and days <= 1:
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

    def _replace(
        self,
        spark: SparkSession,
        rows: DataFrame,
        replace: DateRange,
        txn: Txn | None,
        user_metadata: str,
    ) -> int:
        """Overwrite exactly ``replace`` with ``rows``; the rows added."""

        def overwrite() -> None:
            with commit_settings(spark, txn=txn, user_metadata=user_metadata):
                writer = (
                    rows.write.format("delta")
                    .mode("overwrite")
                    .option("replaceWhere", replace.predicate())
                )
                self.table.save(writer)

        version = self.table.version(spark)
        with_conflict_retry(overwrite, what="sink replace")
        return rows_added(
            spark, self.table, after=version, metric="numOutputRows", marker=user_metadata
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
