"""What every compiled source offers the runtimes: a batch read, a stream read, the fingerprint a
checkpoint records, and how a backfill reads around its range."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, ClassVar

from spark_enrich.errors import PipelineRunError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class Snapshot:
    """One version of a Delta source: a batch run reading it is idempotent per version."""

    version: int
    table_id: str
    """The table's Delta id: new when the table is recreated (and its versions restart)."""


class Source(ABC):
    """A configured source, compiled by :func:`spark_enrich.plan.compile_source`.

    Every read returns an envelope (:mod:`spark_enrich.sources.envelope`), so that everything
    after it is one code path whatever the source.
    """

    streamable: ClassVar[bool] = False
    """Whether :meth:`read_stream` can read it."""
    chunked: ClassVar[bool] = True
    """Whether a backfill reads it a chunk (a day by default) at a time; a source read by
    record time instead of by a date column is one chunk (a Kafka topic)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def read_batch(
        self,
        spark: SparkSession,
        *,
        start: date | None = None,
        end: date | None = None,
        version: int | None = None,
        margin: timedelta = timedelta(0),
        whole_if_unordered: bool = False,
    ) -> DataFrame:
        """Read the source in full, or the dates ``[start, end)`` widened by ``margin``.

        Args:
            version: a Delta table's version to read (default: its current one).
            whole_if_unordered: a Kafka topic whose record times do not follow its offsets is
                read whole instead of filtered on record time (a backfill: the event date
                decides).
        """

    def read_stream(self, spark: SparkSession) -> DataFrame:
        """Read the source as a stream.

        Raises:
            PipelineRunError: ``SOURCE_NOT_STREAMABLE`` for a source that cannot be streamed.
        """
        raise self.not_streamable()

    def not_streamable(self) -> PipelineRunError:
        """The error of streaming a source that cannot be streamed."""
        return PipelineRunError(
            "SOURCE_NOT_STREAMABLE",
            f"Source {self.name!r} of kind {self.kind!r} cannot be read as a stream; "
            "use a kafka or delta source, or run it with --mode batch.",
            {"source": self.name, "kind": self.kind},
        )

    @property
    @abstractmethod
    def kind(self) -> str:
        """The configuration's ``kind``, as recorded in fingerprints and source coordinates."""

    @abstractmethod
    def fingerprint(self) -> dict[str, object]:
        """What must not change under an existing stream checkpoint: identity and position."""

    def date_column(self) -> str | None:
        """The column the source's dates are selected on; ``None``: by record time."""
        return None

    @property
    def backfill_lateness(self) -> timedelta:
        """How late a row may be dated after its event (the source's ``backfill_lateness``)."""
        return timedelta(0)

    def dated_like_output(self, output_date_column: str) -> bool:
        """Whether the source's dates are selected on the output's own date column (Spark
        resolves names case-insensitively): a backfill then reads exactly its range."""
        column = self.date_column()
        return column is not None and column.lower() == output_date_column.lower()

    def backfill_margin(self, output_date_column: str) -> timedelta:
        """How far around a backfill's range to read: nothing when the source is dated like the
        output, else its :attr:`backfill_lateness`."""
        if self.dated_like_output(output_date_column):
            return timedelta(0)
        return self.backfill_lateness

    def snapshot(self, spark: SparkSession) -> Snapshot | None:
        """The version a batch run reads, when the source has versions."""
        return None

    def latest_version(self, spark: SparkSession) -> int | None:
        """The latest version of a versioned source (a Delta table), for its stream's lag;
        read without a Spark job. None for a source without versions."""
        return None

    def check_reachable(self) -> None:
        """Fail fast when the source's servers cannot be reached (before a stream starts);
        nothing to check for a table."""
        return None
