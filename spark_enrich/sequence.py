"""The ``sequence`` sink mode: one row per group (a user) holding its last N events, oldest first.

Each write folds a batch's events into the stored sequences with a single Delta MERGE whose
update expression reads the stored array itself (``t.<column>``). The read, the fold and the
write are therefore one Delta transaction: a concurrent writer (a backfill beside the stream)
makes the MERGE conflict and retry against the new version, instead of one fold overwriting
the other's events, as a separate read-then-upsert would.

The fold: the batch's events replace stored events with the same key (a reprocessed event
replaces its earlier version, a redelivered one is not kept twice), the union is sorted by
``order_by`` (then the key, so ties are ordered the same way every time) and the last ``length``
are kept. Folding the same events twice gives the same events in the same order, so the sink
is idempotent even without a transaction id (a refold still commits: ``_updated_at`` and the
items' ``_ingested_at`` and ``_run_id`` are renewed).

The output key must determine the group: an event reprocessed under another group (a user id
corrected upstream) is added to the new group's sequence and stays in the old one's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StructField, StructType, TimestampType

from spark_enrich.columns import SEQUENCE_UPDATED_AT
from spark_enrich.delta_commit import Txn, merge_into
from spark_enrich.errors import PipelineRunError
from spark_enrich.materialize import materialize, release
from spark_enrich.sqltext import ident

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from spark_enrich.tables import TableRef

_ITEMS = "_se_items"
_KEYS = "_se_keys"
_RANK = "_se_rank"


@dataclass(frozen=True)
class SequenceFold:
    """How rows (contract + metadata columns) fold into a sequence table."""

    group_by: tuple[str, ...]
    order_by: tuple[str, ...]
    length: int
    column: str
    key: tuple[str, ...]

    def __post_init__(self) -> None:
        if all(k in self.group_by for k in self.key):
            # The configuration rules refuse this; a direct caller gets the same answer.
            raise ValueError("the key needs a column outside group_by to tell events apart")

    def table_schema(self, rows: StructType) -> StructType:
        """Group columns, the events array (every other column of ``rows``; all nullable in
        the item: the contract's nullability is enforced before the sink) and
        ``_updated_at``."""
        groups = [rows[name] for name in self.group_by]
        item = StructType(
            [StructField(f.name, f.dataType, True) for f in rows.fields if f not in groups]
        )
        return StructType(
            [
                *groups,
                StructField(self.column, ArrayType(item, False), False),
                StructField(SEQUENCE_UPDATED_AT, TimestampType(), False),
            ]
        )

    def item_type(self, table: StructType) -> ArrayType:
        data_type = table[self.column].dataType
        assert isinstance(data_type, ArrayType)
        return data_type

    def _item_fields(self, table: StructType) -> list[str]:
        element = self.item_type(table).elementType
        assert isinstance(element, StructType)
        return element.fieldNames()

    def _sort_columns(self, fields: Sequence[str]) -> list[str]:
        # Group columns are constant within a sequence and are not fields of its items.
        return [c for c in dict.fromkeys([*self.order_by, *self.key]) if c in fields]

    def _newest_first(self, fields: Sequence[str]) -> str:
        """An ``array_sort`` comparator: newest first by ``order_by``, then the key; nulls
        oldest."""
        branches = []
        for name in self._sort_columns(fields):
            left, right = f"_l.{ident(name)}", f"_r.{ident(name)}"
            branches += [
                f"WHEN {left} IS NULL AND {right} IS NOT NULL THEN 1",
                f"WHEN {left} IS NOT NULL AND {right} IS NULL THEN -1",
                f"WHEN {left} > {right} THEN -1",
                f"WHEN {left} < {right} THEN 1",
            ]
        if not branches:
            return "(_l, _r) -> 0"
        return f"(_l, _r) -> CASE {' '.join(branches)} ELSE 0 END"

    def _last(self, events: str, fields: Sequence[str]) -> str:
        """The last ``length`` of ``events``, oldest first (one sort, newest first, sliced)."""
        newest = f"array_sort({events}, {self._newest_first(fields)})"
        return f"reverse(slice({newest}, 1, {self.length}))"

    def fold_expressions(self, table: StructType) -> tuple[str, str]:
        """SQL of the MERGE's new sequence: for a stored group, and for a new one."""
        fields = self._item_fields(table)
        key = [k for k in self.key if k in fields]
        same = " AND ".join(f"_n.{ident(k)} <=> _e.{ident(k)}" for k in key) or "true"
        items = f"s.{_ITEMS}"
        kept = f"filter(t.{ident(self.column)}, _e -> NOT exists(s.{_KEYS}, _n -> {same}))"
        return self._last(f"concat({items}, {kept})", fields), self._last(items, fields)

    def source(self, rows: DataFrame, table: StructType) -> DataFrame:
        """One row per group of ``rows``: the keys of all its events, and its newest
        ``length`` events (older ones cannot be kept), cast to the stored item type."""
        fields = self._item_fields(table)
        element = self.item_type(table).elementType
        assert isinstance(element, StructType)
        key = [k for k in self.key if k in fields]
        # Within a batch the same key is the same event (a redelivery).
        unique = rows.dropDuplicates(list(self.key))
        newest = Window.partitionBy(*(F.col(ident(g)) for g in self.group_by)).orderBy(
            *(F.col(ident(c)).desc_nulls_last() for c in self._sort_columns(fields))
        )
        ranked = unique.withColumn(_RANK, F.row_number().over(newest))
        item = F.struct(*(F.col(ident(f)) for f in fields))
        keys = F.struct(*(F.col(ident(k)) for k in key))
        return ranked.groupBy(*(F.col(ident(g)) for g in self.group_by)).agg(
            F.collect_list(F.when(F.col(_RANK) <= self.length, item))
            .cast(self.item_type(table))
            .alias(_ITEMS),
            F.collect_list(keys)
            .cast(ArrayType(StructType([element[k] for k in key]), False))
            .alias(_KEYS),
        )

    def check_table(self, stored: StructType, rows: StructType, where: str) -> None:
        """Refuse a table laid out for another configuration: folding into it would put events
        in the wrong groups or drop the fields it lacks."""
        expected = self.table_schema(rows)

        def shape(schema: StructType) -> list[tuple[str, str]]:
            return [(f.name, f.dataType.simpleString()) for f in schema.fields]

        if shape(stored) != shape(expected):
            raise PipelineRunError(
                "SEQUENCE_TABLE_MISMATCH",
                f"The sequence table {where} was created for another configuration: it holds "
                f"{stored.simpleString()}, and this pipeline's group_by, column and output "
                f"columns need {expected.simpleString()}. Write the sequences to a new table "
                "(and backfill it), or restore the configuration the table was made with.",
                {"found": stored.simpleString(), "expected": expected.simpleString()},
            )

    def write(
        self,
        spark: SparkSession,
        rows: DataFrame,
        target: TableRef,
        *,
        scope: str | None,
        txn: Txn | None,
        user_metadata: str,
        optimize_write: bool | None = None,
    ) -> int:
        """Fold ``rows`` into the sequence table (checked by :meth:`check_table` when the sink
        was ensured); return the sequences inserted or updated (0 when Delta skipped an
        idempotent retry)."""
        layout = self.table_schema(rows.schema)
        matched, new = self.fold_expressions(layout)
        # An update-and-insert MERGE reads its source twice (the files it touches, then the
        # rows it writes): the dedup, window and grouping are computed once.
        source = materialize(self.source(rows, layout))
        condition = " AND ".join(f"t.{ident(g)} <=> s.{ident(g)}" for g in self.group_by)
        if scope is not None:
            condition = f"{condition} AND {scope}"
        now = F.current_timestamp()
        update: dict[str, str | Column] = {
            ident(self.column): F.expr(matched),
            ident(SEQUENCE_UPDATED_AT): now,
        }
        insert: dict[str, str | Column] = {
            **{ident(g): F.col(f"s.{ident(g)}") for g in self.group_by},
            ident(self.column): F.expr(new),
            ident(SEQUENCE_UPDATED_AT): now,
        }
        try:
            return merge_into(
                spark, target, source=source, condition=condition,
                clauses=lambda b: b.whenMatchedUpdate(set=update).whenNotMatchedInsert(
                    values=insert
                ),
                counted=("num_updated_rows", "num_inserted_rows"), txn=txn,
                user_metadata=user_metadata, what="sequence merge", optimize_write=optimize_write,
            )  # fmt: skip
        finally:
            release(source)
