"""Dead letters: every row the pipeline cannot turn into output, with its raw payload, the
reason, the executor and the source coordinates, in a Delta table — idempotently.

After a crash, each event ends in exactly one place: a retried idempotent write (a stream's
micro-batch replayed from its checkpoint) replaces the dead letters its earlier attempt
stored, and writes none when the sink already committed it (see :meth:`DeadLetterTable.write`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import Column, Window
from pyspark.sql import functions as F

from spark_enrich.columns import DEAD_LETTER_DDL, ERROR, META
from spark_enrich.decode import parse_schema
from spark_enrich.delta_commit import (
    Txn,
    commit_settings,
    insert_new,
    merge_into,
    with_conflict_retry,
)
from spark_enrich.sqltext import literal
from spark_enrich.tables import SessionMemo, TableRef

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
    letters again. Identical payloads in one file share this id:
    :func:`with_unique_ids` tells them apart when they are written.
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


def with_unique_ids(letters: DataFrame) -> DataFrame:
    """Dead letters whose ids are unique: rows sharing an id (the same bad payload twice in
    one data file, which has no offsets) keep it for the first and get it numbered for the
    others (``sha2(id|n)``, n = 1, 2, ...).

    The numbering counts identical rows, so it does not depend on where in the file they are or
    on how the rows are split into tasks: a data file is read whole by one batch or one
    micro-batch, and a re-run numbers the same copies the same way — it adds nothing, and
    every copy is stored once. A row that is alone keeps the id of :func:`dead_letter_id`.
    Unique ids also keep the insert-only MERGE correct: it inserts every source row that
    matches no target row, duplicates included.
    """
    copy = F.row_number().over(
        Window.partitionBy("dead_letter_id").orderBy("message", "executor_version")
    )
    numbered = F.sha2(F.concat_ws("|", F.col("dead_letter_id"), (copy - 1).cast("string")), 256)
    return letters.withColumn(
        "dead_letter_id", F.when(copy == 1, F.col("dead_letter_id")).otherwise(numbered)
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
        # Set by DeadLetterTable.write from the write's transaction identity.
        F.lit(None).cast("string").alias("txn_app_id"),
        F.lit(None).cast("bigint").alias("txn_version"),
    )


def _stamped(letters: DataFrame, txn: Txn | None) -> DataFrame:
    """``letters`` with unique ids and, for an idempotent write, its transaction identity."""
    letters = with_unique_ids(letters)
    if txn is None:
        return letters
    return letters.withColumns(
        {"txn_app_id": F.lit(txn.app_id), "txn_version": F.lit(txn.version).cast("bigint")}
    )


@dataclass(frozen=True)
class DeadLetterTable:
    """The pipeline's dead-letter Delta table."""

    table: TableRef
    _ensured: SessionMemo = field(
        default_factory=SessionMemo, init=False, compare=False, repr=False
    )

    def ensure(self, spark: SparkSession) -> None:
        """Create the table if it does not exist yet, and add the columns a table written by an
        older version lacks; once per session (see :meth:`spark_enrich.sink.DeltaSink.ensure`)."""
        self._ensured.once(spark, lambda: self._create(spark))

    def _create(self, spark: SparkSession) -> None:
        schema = parse_schema(DEAD_LETTER_DDL)
        self.table.ensure(spark, schema)
        self.table.add_missing_columns(spark, schema)

    def read(self, spark: SparkSession) -> DataFrame:
        """The whole dead-letter table."""
        return self.table.read(spark)

    def written_by(self, spark: SparkSession, txn: Txn) -> bool:
        """Whether an earlier attempt of the write ``txn`` stored dead letters here (its
        commit carries ``txn``, see :meth:`write`)."""
        return self.table.committed_txn_version(spark, txn.app_id) >= txn.version

    def write(
        self,
        spark: SparkSession,
        letters: DataFrame | None,
        *,
        user_metadata: str | None,
        txn: Txn | None = None,
        supersede: bool = False,
    ) -> int:
        """Store dead letters; with ``txn``, as those of that idempotent write (a stream's
        micro-batch: ``txnAppId`` and batch id).

        Without ``txn`` (replays, runs without a transaction) rows whose id is in the table
        already are left out: a re-run adds nothing.

        With ``txn`` each row records it (``txn_app_id``, ``txn_version``), and:

        - a first attempt (``supersede=False``) inserts the rows whose id is new, in a commit
          that carries ``txn`` — not to be skipped as a replay (its version is new to the
          table), but so that a retry finds out (:meth:`written_by`) that it wrote here;
        - a retry (``supersede=True``) replaces the rows its earlier attempt stored (and not
          replayed since) by its own, in one MERGE without ``txn``: rows that failed before
          and now succeed leave the dead letters (they go to the sink with the retry's sink
          commit, which follows), rows that fail now and did not before are added. ``letters``
          is ``None`` when the retry has no dead letters at all.

        A transaction id on the retry would make Delta skip the whole write, keeping the first
        attempt's outcome while the sink gets the second one. The caller writes the dead
        letters before the sink and skips both when the sink already holds ``txn``: then the
        first outcome is the one stored, on both sides (see ``spark_enrich.process``).

        ``letters`` must be materialised (:func:`spark_enrich.materialize.materialize`): the
        MERGE reads it without Delta's own copy of the source. Rows that share an id are told
        apart first (:func:`with_unique_ids`).

        Returns:
            How many rows this write inserted (0 when all were already there).
        """
        self.ensure(spark)
        letters = _stamped(letters, txn) if letters is not None else None
        if not supersede or txn is None:
            if letters is None:
                return 0
            return insert_new(
                spark,
                self.table,
                source=letters,
                condition="t.dead_letter_id = s.dead_letter_id",
                txn=txn,
                user_metadata=user_metadata,
                what="dead-letter write",
            )
        return self._supersede(spark, letters, txn, user_metadata)

    def _supersede(
        self, spark: SparkSession, letters: DataFrame | None, txn: Txn, user_metadata: str | None
    ) -> int:
        """A retry of ``txn``: its rows replace those its earlier attempt stored."""
        # The rows of the earlier attempt (a dead letter replayed since is history: kept).
        earlier = (
            f"{{t}}txn_app_id = {literal(txn.app_id)} AND {{t}}txn_version = {int(txn.version)} "
            "AND {t}replayed_at IS NULL"
        )
        if letters is None:
            self._delete(spark, earlier.format(t=""), user_metadata)
            return 0
        return merge_into(
            spark,
            self.table,
            source=letters,
            condition="t.dead_letter_id = s.dead_letter_id",
            clauses=lambda builder: builder.whenNotMatchedInsertAll().whenNotMatchedBySourceDelete(
                earlier.format(t="t.")
            ),
            counted=("num_inserted_rows",),
            txn=None,
            user_metadata=user_metadata,
            what="dead-letter write (retry)",
        )

    def _delete(self, spark: SparkSession, condition: str, user_metadata: str | None) -> None:
        target = self.table.delta_table(spark)

        def delete() -> None:
            with commit_settings(spark, txn=None, user_metadata=user_metadata):
                target.delete(condition)

        with_conflict_retry(delete, what="dead-letter write (retry)")
