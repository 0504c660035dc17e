"""``sink.mode: merge``: rows whose key the table does not hold yet are inserted (a MERGE
scoped to the partitions the batch writes to); a backfill replaces its range."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from spark_enrich.delta_commit import Txn, insert_new
from spark_enrich.sink.base import DateRange, DeltaSink
from spark_enrich.sqltext import ident

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class MergeSink(DeltaSink):
    """Inserts only keys not in the table yet; the first version of an event is kept."""

    @cached_property
    def for_stream(self) -> DeltaSink:
        """With ``dedup``: an append to this table (no MERGE per micro-batch); else this sink
        as streams write (:meth:`~spark_enrich.sink.DeltaSink.streaming`)."""
        if self.dedup is None:
            return self.streaming()
        from spark_enrich.sink.append import AppendSink  # append imports this module

        return AppendSink(
            self.table,
            self.contract,
            self.partition_by,
            self.properties,
            dedup=self.dedup,
            stream_optimize_write=self.stream_optimize_write,
        ).streaming()

    def _write(
        self,
        spark: SparkSession,
        rows: DataFrame,
        *,
        txn: Txn | None,
        user_metadata: str,
        replace: DateRange | None,
    ) -> int:
        key = list(self.contract.key)
        # MERGE needs unique source keys; duplicates within one batch are the same event.
        source = rows.dropDuplicates(key)
        if replace is not None:
            return self._replace(spark, source, replace, txn, user_metadata)
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
            optimize_write=self.optimize_write,
        )
