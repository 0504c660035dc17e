"""Copy sequences from the Delta sequence table to the online store, from Spark's workers.

After each fold (micro-batch, batch chunk, backfill, replay) the sink publishes the groups the
batch touched, as the Delta table holds them at its latest version, tagged with that version.
The read happens after the fold's commit, so it sees the fold, and any concurrent fold that
committed later carries a higher version: the store's compare-and-set keeps whichever is
newest. A batch whose Delta commit was skipped (a replay after a crash between the commit and
the store write) publishes the same way, so the store catches up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pyspark.sql import functions as F

from spark_enrich.columns import SEQUENCE_UPDATED_AT
from spark_enrich.config.online import OnlineStore, redact_url
from spark_enrich.errors import PipelineRunError
from spark_enrich.online.store import VERSION_DIGITS, StoreWriter
from spark_enrich.sqltext import ident

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, Row, SparkSession

    from spark_enrich.tables import TableRef

T = TypeVar("T")

KEY = "_se_key"
VALUE = "_se_value"
DOCUMENT = "_se_document"


@dataclass(frozen=True)
class OnlineSequences:
    """Where and how a sequence table's groups are kept online."""

    writer: StoreWriter
    key_prefix: str
    group_by: tuple[str, ...]
    column: str

    @classmethod
    def from_config(
        cls, store: OnlineStore, group_by: Iterable[str], column: str
    ) -> OnlineSequences:
        """The publisher of ``sink.online`` for a sequence grouped by ``group_by``."""
        writer = StoreWriter(
            url=store.url.get_secret_value(),
            ttl_seconds=store.ttl_seconds(),
            batch_size=store.batch_size,
            retries=store.retries,
        )
        return cls(writer, store.key_prefix, tuple(group_by), column)

    def key(self, *values: object) -> str:
        """The store key of the group with these ``group_by`` values."""
        return self.key_prefix + ":".join(str(v) for v in values)

    def key_column(self) -> Column:
        """:meth:`key` as a column of the sequence table."""
        parts = [F.col(ident(g)).cast("string") for g in self.group_by]
        return F.concat(F.lit(self.key_prefix), F.concat_ws(":", *parts))

    def documents(self, table: DataFrame) -> DataFrame:
        """Key and JSON document (``updated_at``, ``events``) of each row of the table."""
        document = F.to_json(
            F.struct(
                F.col(ident(SEQUENCE_UPDATED_AT)).alias("updated_at"),
                F.col(ident(self.column)).alias("events"),
            )
        )
        return table.select(self.key_column().alias(KEY), document.alias(DOCUMENT))

    def values(self, sequences: DataFrame, version: int) -> DataFrame:
        """Key and stored value (:func:`~spark_enrich.online.store.encode`: the version, then
        the document) of each row of ``sequences``, read at Delta ``version``."""
        prefix = F.lit(f"{version:0{VERSION_DIGITS}d}")
        return self.documents(sequences).select(KEY, F.concat(prefix, F.col(DOCUMENT)).alias(VALUE))

    def snapshot(
        self, spark: SparkSession, table: TableRef, version: int | None = None
    ) -> tuple[int, DataFrame]:
        """The sequence table at ``version`` (its latest by default) and that version."""
        if version is None:
            version = table.version(spark)
        return version, table.read(spark, version=version)

    def publish(
        self,
        spark: SparkSession,
        table: TableRef,
        *,
        groups: DataFrame | None = None,
        version: int | None = None,
    ) -> int:
        """Write the groups in ``groups`` (every group when None), as the table holds them at
        ``version`` (the latest by default), to the store; return how many values were
        replaced or created (a value the store holds from a newer version is kept).

        Raises:
            PipelineRunError: (from a worker) the store failed past its retries.
        """
        version, sequences = self.snapshot(spark, table, version)
        if groups is not None:
            wanted = groups.select(*(F.col(ident(g)) for g in self.group_by)).distinct()
            sequences = sequences.join(wanted, list(self.group_by), "left_semi")
        pairs = self.values(sequences, version)
        writer = self.writer

        def write(rows: Iterable[Row]) -> Iterator[int]:
            yield writer.write((row[0], row[1]) for row in rows)

        return on_workers(writer.url, lambda: int(pairs.rdd.mapPartitions(write).sum()))


_UNAVAILABLE = re.compile(r"\[ONLINE_STORE_UNAVAILABLE\] (.+)")


def on_workers(url: str, job: Callable[[], T]) -> T:
    """Run the Spark ``job`` whose tasks use the store at ``url``; a task's store failure is
    raised again here as itself, not as the Python worker's traceback Spark wraps it in.

    Raises:
        PipelineRunError: ``ONLINE_STORE_UNAVAILABLE`` (the store at ``url``, redacted, failed
            past its retries in a task); any other failure of the job as it came.
    """
    try:
        return job()
    except Exception as exc:
        # Spark hands the driver the task's traceback as text: the error's own line is in it.
        found = _UNAVAILABLE.search(str(exc))
        if found is None:
            raise
        raise PipelineRunError(
            "ONLINE_STORE_UNAVAILABLE", found.group(1).strip(), {"store": redact_url(url)}
        ) from None
