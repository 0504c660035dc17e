"""``sink.mode: append``: every batch's rows are appended; a backfill replaces its range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import Observation
from pyspark.sql import functions as F

from spark_enrich.delta_commit import Txn, rows_added, with_conflict_retry
from spark_enrich.sink.base import DateRange, DeltaSink
from spark_enrich.sink.merge import MergeSink

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class AppendSink(DeltaSink):
    """Appends rows (no deduplication by key: the transaction id keeps a retried micro-batch
    out)."""

    def insert_only(self) -> DeltaSink:
        """The same table as a :class:`MergeSink`: a replay inserts keys not there yet."""
        return MergeSink(self.table, self.contract, self.partition_by, self.properties)

    def _write(
        self,
        spark: SparkSession,
        rows: DataFrame,
        *,
        txn: Txn | None,
        user_metadata: str,
        replace: DateRange | None,
    ) -> int:
        if replace is not None:
            return self._replace(spark, rows, replace, txn, user_metadata)

        # Counted while written when Delta cannot skip the commit (no txn, or a txn known to
        # be a first attempt); otherwise from the table's history, which tells our commit from
        # a skipped one. An observation of a skipped write would never be filled.
        exact = txn is None or not txn.may_be_retry
        counted = Observation("sink-append")
        written = rows.observe(counted, F.count(F.lit(1)).alias("rows")) if exact else rows

        def append() -> None:
            writer = (
                written.write.format("delta").mode("append").option("userMetadata", user_metadata)
            )
            if self.optimize_write is not None:
                writer = writer.option("optimizeWrite", str(self.optimize_write).lower())
            if txn is not None:
                writer = writer.option("txnAppId", txn.app_id).option("txnVersion", txn.version)
            self.table.save(writer)

        if exact:
            with_conflict_retry(append, what="sink append")
            return int(counted.get["rows"])
        version = self.table.version(spark)
        with_conflict_retry(append, what="sink append")
        return rows_added(
            spark, self.table, after=version, metric="numOutputRows", marker=user_metadata
        )
