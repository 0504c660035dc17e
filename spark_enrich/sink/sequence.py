"""``sink.mode: sequence``: rows fold into one row per group holding its last N events
(:mod:`spark_enrich.sequence`), backfills included: a sequence spans dates, so a range cannot
be replaced; the fold replaces reprocessed events instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from spark_enrich.delta_commit import Txn
from spark_enrich.online.publish import OnlineSequences
from spark_enrich.sequence import SequenceFold
from spark_enrich.sink.base import DateRange, DeltaSink

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


@dataclass(frozen=True, kw_only=True)
class SequenceSink(DeltaSink):
    """Folds rows into per-group sequences; :meth:`write` returns the sequences written."""

    fold: SequenceFold
    online: OnlineSequences | None = None

    def schema(self) -> StructType:
        """One row per group: group columns, the events array and ``_updated_at``."""
        return self.fold.table_schema(self.row_schema())

    def _create(self, spark: SparkSession) -> None:
        # Refuse a table laid out for another configuration before folding into it.
        super()._create(spark)
        self.fold.check_table(self.read(spark).schema, self.row_schema(), self.table.location)

    def days_emptied(
        self, spark: SparkSession, rows: DataFrame | None, replace: DateRange, written: int
    ) -> dict[date, int]:
        """Nothing: a sequence sink folds, it never replaces a range."""
        return {}

    def _write(
        self,
        spark: SparkSession,
        rows: DataFrame,
        *,
        txn: Txn | None,
        user_metadata: str,
        replace: DateRange | None,
    ) -> int:
        written = self.fold.write(
            spark,
            rows,
            self.table,
            scope=self._partition_scope(rows, self.fold.group_by),
            txn=txn,
            user_metadata=user_metadata,
            optimize_write=self.optimize_write,
        )
        self.publish_online(spark, rows)
        return written

    def publish_online(self, spark: SparkSession, rows: DataFrame | None) -> None:
        """Copy the sequences of the groups in ``rows``, as the table holds them now, to the
        online store (``sink.online``), if there is one."""
        if self.online is not None and rows is not None:
            self.online.publish(spark, self.table, groups=rows)
