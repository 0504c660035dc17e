"""Dead letters: every row the pipeline cannot turn into output, with its raw payload, the
reason, the executor and the source coordinates, in a Delta table — idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import Column
from pyspark.sql import functions as F

from spark_enrich.columns import DEAD_LETTER_DDL, ERROR, META
from spark_enrich.decode import parse_schema
from spark_enrich.delta_commit import ensure_table, insert_new, read_table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def dead_letter_id(reason: Column, executor: Column) -> Column:
    """A stable id: the same bad input and reason always get the same id when it is
    processed again, so re-processing never duplicates dead letters.

    Kafka records are identified by topic, partition and offset. Table rows have no offsets:
    by the name of the data file they were read from and their payload — batch and stream
    reads of a Delta table give a row the same id. Delta data file names are unique, so the
    same bad payload on two days (two files) gets two dead letters; a table rewritten by
    compaction gives its rows new files, and re-processing after that writes their dead
    letters again.
    """
    source = F.col(f"{META}.source")
    file_name = F.coalesce(F.element_at(F.split(source["file"], "/"), -1), F.lit(""))
    return F.sha2(
        F.concat_ws(
            "|",
            source["name"],
            F.coalesce(source["topic"], F.lit("")),
            F.coalesce(source["partition"].cast("string"), F.lit("")),
            F.coalesce(source["offset"].cast("string"), F.lit("")),
            F.coalesce(source["table"], F.lit("")),
            F.when(
                source["offset"].isNull(),
                F.concat_ws("|", file_name, F.sha2(F.col(f"{META}.raw"), 256)),
            ).otherwise(F.lit("")),
            reason,
            F.coalesce(executor, F.lit("")),
        ),
        256,
    )


def to_dead_letters(
    rows: DataFrame,
    *,
    pipeline: str,
    run_id: str,
    executor: str | None = None,
    executor_version: str | None = None,
    event_type_column: str | None = None,
) -> DataFrame:
    """Rows carrying ``_se_meta`` and a non-null ``_se_error`` -> the dead-letter schema."""
    reason = F.col(f"{ERROR}.reason")
    executor_col = F.lit(executor).cast("string")
    event_type = (
        F.col(event_type_column).cast("string")
        if event_type_column and event_type_column in rows.columns
        else F.lit(None).cast("string")
    )
    return rows.select(
        dead_letter_id(reason, executor_col).alias("dead_letter_id"),
        reason.alias("reason"),
        F.col(f"{ERROR}.message").alias("message"),
        F.lit(pipeline).alias("pipeline"),
        executor_col.alias("executor"),
        F.lit(executor_version).cast("string").alias("executor_version"),
        event_type.alias("event_type"),
        F.col(f"{META}.raw").alias("raw_payload"),
        F.col(f"{META}.kafka_key").alias("kafka_key"),
        F.col(f"{META}.kafka_headers").alias("kafka_headers"),
        F.col(f"{META}.source").alias("source"),
        F.current_timestamp().alias("dead_lettered_at"),
        F.lit(run_id).alias("run_id"),
        F.lit(None).cast("timestamp").alias("replayed_at"),
        F.lit(None).cast("string").alias("replay_run_id"),
    )


@dataclass(frozen=True)
class DeadLetterTable:
    """The pipeline's dead-letter Delta table."""

    path: str | None
    table: str | None = None
    _created: set[int] = field(default_factory=set, init=False, compare=False, repr=False)

    def ensure(self, spark: SparkSession) -> None:
        """Create the table if it does not exist yet; once per session (see
        :meth:`spark_enrich.sink.DeltaSink.ensure`)."""
        if id(spark) in self._created:
            return
        ensure_table(spark, path=self.path, table=self.table, schema=parse_schema(DEAD_LETTER_DDL))
        self._created.add(id(spark))

    def read(self, spark: SparkSession) -> DataFrame:
        """The whole dead-letter table."""
        return read_table(spark, path=self.path, table=self.table)

    def write(
        self,
        spark: SparkSession,
        letters: DataFrame,
        *,
        user_metadata: str | None,
    ) -> int:
        """Insert dead letters whose id is not in the table yet (a re-run adds nothing).

        No ``txnAppId``/``txnVersion``: the MERGE on the stable id is idempotent by itself, and
        a transaction id would make Delta skip the whole write when a retried micro-batch fails
        on *other* rows than its first attempt (an enrichment service that fails on another row,
        an executor fixed before the restart) — those rows would reach neither the sink nor the
        dead letters.

        ``letters`` must be materialised (:func:`spark_enrich.materialize.materialize`): the
        MERGE reads it without Delta's own copy of the source.

        Returns:
            How many rows this write inserted (0 when all were already there).
        """
        self.ensure(spark)
        return insert_new(
            spark,
            path=self.path,
            table=self.table,
            source=letters,
            condition="t.dead_letter_id = s.dead_letter_id",
            txn=None,
            user_metadata=user_metadata,
            what="dead-letter write",
        )
