"""The *envelope* every source's rows are turned into — ``_se_payload`` (the text to decode)
and ``_se_meta`` (raw bytes, Kafka key and headers, source coordinates, a row id) — so that
everything after the read is one code path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType

from spark_enrich.columns import HEADERS_TYPE, META, SOURCE_FIELDS
from spark_enrich.decode import PAYLOAD
from spark_enrich.errors import PipelineRunError
from spark_enrich.sqltext import ident

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def source_struct(**values: Column | None) -> Column:
    """The ``source`` coordinates struct; fields not given are typed nulls."""
    return F.struct(
        *[
            (values.get(name) if values.get(name) is not None else F.lit(None))
            .cast(type_)  # type: ignore[union-attr]
            .alias(name)
            for name, type_ in SOURCE_FIELDS
        ]
    )


def kafka_envelope(raw: DataFrame, source_name: str) -> DataFrame:
    """Envelope of a frame with Spark's Kafka source schema (batch or streaming)."""
    headers = F.col("headers") if "headers" in raw.columns else F.lit(None).cast(HEADERS_TYPE)
    meta = F.struct(
        # Set per batch by process_batch: monotonically_increasing_id() is batch-only.
        F.lit(None).cast("bigint").alias("row_id"),
        F.col("value").alias("raw"),
        F.col("key").alias("kafka_key"),
        headers.cast(HEADERS_TYPE).alias("kafka_headers"),
        source_struct(
            name=F.lit(source_name),
            kind=F.lit("kafka"),
            topic=F.col("topic"),
            partition=F.col("partition"),
            offset=F.col("offset"),
            timestamp=F.col("timestamp"),
        ).alias("source"),
    )
    return raw.select(F.col("value").cast("string").alias(PAYLOAD), meta.alias(META))


def table_envelope(
    rows: DataFrame,
    *,
    source_name: str,
    kind: str,
    table: str,
    payload_column: str | None,
    version: int | None = None,
    file: Column | None = None,
    key_column: str | None = None,
) -> DataFrame:
    """Envelope of a Delta/files frame: a payload column as is, or the whole row as JSON;
    ``file`` is the data file each row was read from (part of its dead-letter id);
    ``key_column`` holds each row's record key, carried like a Kafka key.

    Raises:
        PipelineRunError: ``SOURCE_COLUMN_MISSING`` when ``key_column`` is not a column.
    """
    data_columns = [c for c in rows.columns if c != "_metadata"]
    if payload_column:
        payload = F.col(payload_column).cast("string")
    else:
        payload = F.to_json(F.struct(*[F.col(ident(c)) for c in data_columns]))
    meta = F.struct(
        # Set per batch by process_batch: monotonically_increasing_id() is batch-only.
        F.lit(None).cast("bigint").alias("row_id"),
        payload.cast("binary").alias("raw"),
        _record_key(rows, key_column, source_name).alias("kafka_key"),
        F.lit(None).cast(HEADERS_TYPE).alias("kafka_headers"),
        source_struct(
            name=F.lit(source_name),
            kind=F.lit(kind),
            table=F.lit(table),
            version=F.lit(version) if version is not None else None,
            file=file,
        ).alias("source"),
    )
    return rows.select(payload.alias(PAYLOAD), meta.alias(META))


def _record_key(rows: DataFrame, key_column: str | None, source_name: str) -> Column:
    """The BINARY record key of a table row, as Kafka gives it: the column's bytes, or the
    UTF-8 bytes of its text (what a producer sending that text as the key would have sent)."""
    if key_column is None:
        return F.lit(None).cast("binary")
    types = {f.name: f.dataType for f in rows.schema.fields if f.name != "_metadata"}
    # Spark resolves column names case-insensitively (as it does payload_column's).
    name = next((n for n in types if n == key_column), None) or next(
        (n for n in types if n.lower() == key_column.lower()), None
    )
    if name is None:
        raise PipelineRunError(
            "SOURCE_COLUMN_MISSING",
            f"Source {source_name!r}: key_column {key_column!r} is not a column of the source; "
            f"its columns are {', '.join(sorted(types))}.",
            {"source": source_name, "column": key_column, "columns": sorted(types)},
        )
    column = F.col(ident(name))
    if isinstance(types[name], BinaryType):
        return column
    return column.cast("string").cast("binary")
