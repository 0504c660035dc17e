"""Table sources: a Delta table (batch at a version, or a stream) and a folder of files (batch);
their rows are selected on a date column, and a payload column or the whole row is decoded."""

from __future__ import annotations

from abc import abstractmethod
from datetime import date, timedelta
from typing import TYPE_CHECKING, ClassVar

from pyspark.sql import functions as F

from spark_enrich import _jvm
from spark_enrich.errors import PipelineRunError
from spark_enrich.sources.base import Snapshot, Source
from spark_enrich.sources.envelope import table_envelope
from spark_enrich.tables import TableRef

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from spark_enrich.config import models


def _date_filter(column: str, start: date | None, end: date | None) -> Column | None:
    cond: Column | None = None
    if start is not None:
        cond = F.col(column) >= F.lit(start)
    if end is not None:
        upper = F.col(column) < F.lit(end)
        cond = upper if cond is None else cond & upper
    return cond


class TableSource(Source):
    """What Delta and files sources share: rows selected on a date column, then enveloped."""

    def __init__(
        self,
        name: str,
        *,
        location: str,
        payload_column: str | None,
        key_column: str | None,
        date_column: str | None,
    ) -> None:
        super().__init__(name)
        self.location = location
        self.payload_column = payload_column
        self.key_column = key_column
        self._date_column = date_column

    def date_column(self) -> str | None:
        """The source's own ``date_column``, else ``runtime.batch.date_column``."""
        return self._date_column

    @abstractmethod
    def _load(self, spark: SparkSession, version: int | None) -> DataFrame:
        """The rows (with ``_metadata``), before any filter."""

    def _filter(self) -> str | None:
        return None

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
        """The rows dated ``[start, end)`` on :meth:`date_column`, widened by ``margin``
        (rounded up to whole days) on both sides; a Delta table at ``version`` (default: its
        current version), recorded in the rows' source coordinates.

        Raises:
            PipelineRunError: ``SOURCE_NOT_READABLE`` when the table or files do not exist;
                ``SOURCE_DATE_COLUMN_MISSING`` when a range is asked of a table without its
                date column.
        """
        try:
            if version is None:
                version = self._current_version(spark)
            rows = self._load(spark, version)
        except Exception as exc:
            if isinstance(exc, PipelineRunError):
                raise
            raise PipelineRunError(
                "SOURCE_NOT_READABLE",
                f"Source {self.name!r} ({self.kind} {self.location}) cannot be read: "
                f"{str(exc).splitlines()[0]}",
                {"source": self.name},
            ) from exc
        rows = rows.select("*", "_metadata")
        predicate = self._filter()
        if predicate:
            rows = rows.where(predicate)
        if start is not None or end is not None:
            rows = self._in_range(rows, start, end, margin)
        return table_envelope(
            rows,
            source_name=self.name,
            kind=self.kind,
            table=self.location,
            payload_column=self.payload_column,
            version=version,
            file=F.col("_metadata.file_path"),
            key_column=self.key_column,
        )

    def _current_version(self, spark: SparkSession) -> int | None:
        return None

    def _in_range(
        self, rows: DataFrame, start: date | None, end: date | None, margin: timedelta
    ) -> DataFrame:
        column = self.date_column()
        if column is None:
            return rows
        # Spark resolves names case-insensitively; a nested field is left to Spark to resolve.
        if "." not in column and column.lower() not in {c.lower() for c in rows.columns}:
            raise PipelineRunError(
                "SOURCE_DATE_COLUMN_MISSING",
                f"Source {self.name!r} ({self.kind} {self.location}) has no column {column!r} "
                f"to select the dates [{start}, {end}) on; its columns are "
                f"{[c for c in rows.columns if c != '_metadata']}. Set the source's own "
                "date_column (sources[].date_column); runtime.batch.date_column names the "
                "output's date column.",
                {"source": self.name, "column": column},
            )
        # Dates: the margin is rounded up to whole days.
        pad = timedelta(days=-(-margin // timedelta(days=1)))
        condition = _date_filter(
            column, None if start is None else start - pad, None if end is None else end + pad
        )
        return rows if condition is None else rows.where(condition)


class DeltaSource(TableSource):
    """A Delta table, by path or catalog name."""

    streamable: ClassVar[bool] = True

    def __init__(self, config: models.DeltaSource, *, default_date_column: str | None) -> None:
        super().__init__(
            config.name,
            location=str(config.path or config.table),
            payload_column=config.payload_column,
            key_column=config.key_column,
            date_column=config.date_column or default_date_column,
        )
        self.config = config
        self.table = TableRef.of(path=config.path, table=config.table)

    @property
    def kind(self) -> str:
        return "delta"

    @property
    def backfill_lateness(self) -> timedelta:
        return self.config.backfill_lateness

    def fingerprint(self) -> dict[str, object]:
        return {
            "kind": "delta",
            "name": self.name,
            "path": self.config.path,
            "table": self.config.table,
        }

    def _filter(self) -> str | None:
        return self.config.filter

    def _current_version(self, spark: SparkSession) -> int | None:
        # A table named in the catalog is read at its latest version, recorded as unknown.
        return None if self.table.path is None else self.table.version(spark)

    def _load(self, spark: SparkSession, version: int | None) -> DataFrame:
        return self.table.read(spark, version=version)

    def snapshot(self, spark: SparkSession) -> Snapshot | None:
        """The current version and Delta id of a table given by path (``None`` by name)."""
        path = self.table.path
        if path is None:
            return None
        row = self.table.delta_table(spark).detail().select("id").first()
        return Snapshot(self.table.version(spark), str(row[0]) if row is not None else path)

    def latest_version(self, spark: SparkSession) -> int | None:
        return _jvm.latest_delta_version(spark, path=self.table.path, name=self.table.name)

    def read_stream(self, spark: SparkSession) -> DataFrame:
        config = self.config
        reader = spark.readStream.format("delta")
        if config.max_files_per_trigger:
            reader = reader.option("maxFilesPerTrigger", str(config.max_files_per_trigger))
        if config.skip_change_commits:
            reader = reader.option("skipChangeCommits", "true")
        rows = reader.load(config.path) if config.path else reader.table(str(config.table))
        if config.filter:
            rows = rows.where(config.filter)
        return table_envelope(
            rows,
            source_name=self.name,
            kind="delta",
            table=self.location,
            payload_column=self.payload_column,
            # Delta's streaming source has no _metadata column (delta-io/delta#2014); the
            # file name, evaluated right above its scan, gives rows the ids a batch read does.
            file=F.input_file_name(),
            key_column=self.key_column,
        )


class FilesSource(TableSource):
    """A folder of JSON or Parquet files (the log archive); batch only."""

    def __init__(self, config: models.FilesSource, *, default_date_column: str | None) -> None:
        super().__init__(
            config.name,
            location=str(config.path),
            payload_column=config.payload_column,
            key_column=config.key_column,
            date_column=default_date_column,
        )
        self.config = config

    @property
    def kind(self) -> str:
        return "files"

    def fingerprint(self) -> dict[str, object]:
        return {"kind": "files", "name": self.name, "path": self.config.path, "table": None}

    def _load(self, spark: SparkSession, version: int | None) -> DataFrame:
        return spark.read.format(self.config.format).load(self.config.path)
