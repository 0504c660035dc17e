"""Sources: Kafka, Delta tables and file archives, read as batch or stream, all turned into the
same *envelope* frame — ``_se_payload`` (the text to decode) and ``_se_meta`` (raw bytes, Kafka
key and headers, source coordinates, a row id) — so that everything after is one code path.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType

from spark_enrich.columns import HEADERS_TYPE, META, SOURCE_FIELDS
from spark_enrich.decode import PAYLOAD
from spark_enrich.errors import PipelineRunError
from spark_enrich.sqltext import ident
from spark_enrich.tables import TableRef

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)


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


def kafka_options(source: Any) -> dict[str, str]:
    """Reader options of a Kafka source config shared by batch and stream reads."""
    options = {
        "kafka.bootstrap.servers": source.bootstrap_servers,
        "includeHeaders": "true",
        "failOnDataLoss": str(source.fail_on_data_loss).lower(),
    }
    if source.topics:
        options["subscribe"] = ",".join(source.topics)
    else:
        options["subscribePattern"] = source.pattern
    options.update({k: str(v) for k, v in (source.options or {}).items()})
    return options


def _date_filter(column: str, start: date | None, end: date | None) -> Column | None:
    cond: Column | None = None
    if start is not None:
        cond = F.col(column) >= F.lit(start)
    if end is not None:
        upper = F.col(column) < F.lit(end)
        cond = upper if cond is None else cond & upper
    return cond


def _epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)


def delta_version(spark: SparkSession, path: str) -> int:
    """The current version of the Delta table at ``path``."""
    return TableRef(path=path).version(spark)


def kafka_offsets_follow_time(source: Any, timeout: float = 15.0) -> bool:
    """Whether record timestamps grow with offsets in every topic of a Kafka source, so that a
    time range can be read through offsets looked up by timestamp.

    Only topics whose ``message.timestamp.type`` is ``LogAppendTime`` (the broker stamps each
    record as it appends it) qualify. ``CreateTime``, Kafka's default, is the producer's stamp,
    in any order: a lookup by timestamp can then give equal start and end offsets and read
    nothing. A ``pattern`` source (its topics are known only when Spark reads them) and a
    topic whose configuration cannot be read (no broker access, an option the admin client
    does not take) count as CreateTime: the caller reads every retained record instead.
    """
    if not source.topics:
        return False
    # Both are public but re-exported without __all__, which mypy's strict mode reads as private.
    from confluent_kafka.admin import (  # type: ignore[attr-defined]
        AdminClient,
        ConfigResource,
        ResourceType,
    )

    settings = {"bootstrap.servers": source.bootstrap_servers}
    for key, value in (source.options or {}).items():
        # Security settings share their names with librdkafka's; other Java client settings
        # would make the admin client refuse to start.
        name = key.removeprefix("kafka.")
        if name.split(".")[0] in ("security", "sasl", "ssl"):
            settings[name] = str(value).lower() if isinstance(value, bool) else str(value)
    try:
        admin = AdminClient(settings)
        resources = [ConfigResource(ResourceType.TOPIC, topic) for topic in source.topics]
        futures = admin.describe_configs(resources, request_timeout=timeout)
        types = {
            resource.name: future.result(timeout=timeout)["message.timestamp.type"].value
            for resource, future in futures.items()
        }
    except Exception as exc:
        log.warning(
            "could not read message.timestamp.type of %s (%s); reading every retained record",
            source.topics,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        return False
    return all(kind == "LogAppendTime" for kind in types.values())


def source_date_column(source: Any, default: str | None) -> str | None:
    """The column a table source's dates are selected on: its own ``date_column``, else
    ``default`` (``runtime.batch.date_column``); ``None`` for Kafka (record time)."""
    if source.kind == "kafka":
        return None
    return getattr(source, "date_column", None) or default


def read_batch(
    spark: SparkSession,
    source: Any,
    *,
    start: date | None = None,
    end: date | None = None,
    date_column: str | None = None,
    version: int | None = None,
    margin: timedelta = timedelta(0),
    whole_if_unordered: bool = False,
) -> DataFrame:
    """Read a source in full, or the dates ``[start, end)``, as an envelope.

    A Delta table is read at ``version`` (default: its current version), recorded in the
    rows' source coordinates; a table source's dates are those of its own ``date_column``,
    else of ``date_column`` (see :func:`source_date_column`), widened by ``margin`` (rounded
    up to whole days) on both sides. A Kafka source is read for the
    records stamped from ``start`` minus ``margin`` to ``end`` plus ``margin``: through offsets
    looked up by timestamp when its topics are ``LogAppendTime`` (see
    :func:`kafka_offsets_follow_time`), else by reading every retained record and keeping
    those stamped in range, or, with ``whole_if_unordered`` (a backfill: the event date
    decides), all of them.

    Raises:
        PipelineRunError: ``SOURCE_NOT_READABLE`` when the table or files do not exist;
            ``SOURCE_DATE_COLUMN_MISSING`` when a range is asked of a table without its date
            column.
    """
    kind = source.kind
    if kind == "kafka":
        raw = spark.read.format("kafka").options(**kafka_options(source))
        margin_ms = round(margin.total_seconds() * 1000)
        low = None if start is None else max(0, _epoch_ms(start) - margin_ms)
        high = None if end is None else _epoch_ms(end) + margin_ms
        by_offsets = (low is not None or high is not None) and kafka_offsets_follow_time(source)
        # Offsets follow time only in LogAppendTime topics: partitions without records in
        # range contribute nothing.
        if by_offsets and low is not None:
            raw = raw.option("startingTimestamp", str(low))
            raw = raw.option("startingOffsetsByTimestampStrategy", "latest")
        else:
            raw = raw.option("startingOffsets", "earliest")
        if by_offsets and high is not None:
            raw = raw.option("endingTimestamp", str(high))
        else:
            raw = raw.option("endingOffsets", "latest")
        records = raw.load()
        if not by_offsets and not whole_if_unordered:
            stamped = F.col("timestamp")
            if low is not None:
                records = records.where(stamped >= F.timestamp_millis(F.lit(low)))
            if high is not None:
                records = records.where(stamped < F.timestamp_millis(F.lit(high)))
        return kafka_envelope(records, source.name)
    column = source_date_column(source, date_column)
    try:
        if kind == "delta":
            location = source.path or source.table
            if version is None and source.path:
                version = delta_version(spark, source.path)
            reader = spark.read.format("delta")
            if version is not None:
                reader = reader.option("versionAsOf", version)
            rows = reader.load(source.path) if source.path else reader.table(source.table)
        elif kind == "files":
            location, version = source.path, None
            rows = spark.read.format(source.format).load(source.path)
        else:  # pragma: no cover - the config model's discriminated union forbids it
            raise PipelineRunError("UNKNOWN_SOURCE_KIND", f"unknown source kind {kind!r}", {})
    except Exception as exc:
        if isinstance(exc, PipelineRunError):
            raise
        raise PipelineRunError(
            "SOURCE_NOT_READABLE",
            f"Source {source.name!r} ({kind} {source.path or getattr(source, 'table', '')}) "
            f"cannot be read: {str(exc).splitlines()[0]}",
            {"source": source.name},
        ) from exc
    rows = rows.select("*", "_metadata")
    if getattr(source, "filter", None):
        rows = rows.where(source.filter)
    if column is not None and (start is not None or end is not None):
        # Spark resolves names case-insensitively; a nested field is left to Spark to resolve.
        if "." not in column and column.lower() not in {c.lower() for c in rows.columns}:
            raise PipelineRunError(
                "SOURCE_DATE_COLUMN_MISSING",
                f"Source {source.name!r} ({kind} {location}) has no column {column!r} to select "
                f"the dates [{start}, {end}) on; its columns are "
                f"{[c for c in rows.columns if c != '_metadata']}. Set the source's own "
                "date_column (sources[].date_column); runtime.batch.date_column names the "
                "output's date column.",
                {"source": source.name, "column": column},
            )
        # Dates: the margin is rounded up to whole days.
        pad = timedelta(days=-(-margin // timedelta(days=1)))
        condition = _date_filter(
            column, None if start is None else start - pad, None if end is None else end + pad
        )
        if condition is not None:
            rows = rows.where(condition)
    return table_envelope(
        rows,
        source_name=source.name,
        kind=kind,
        table=str(location),
        payload_column=getattr(source, "payload_column", None),
        version=version,
        file=F.col("_metadata.file_path"),
        key_column=getattr(source, "key_column", None),
    )


def read_stream(spark: SparkSession, source: Any) -> DataFrame:
    """Read a Kafka topic or a Delta table as a stream, as an envelope."""
    if source.kind == "kafka":
        reader = spark.readStream.format("kafka").options(**kafka_options(source))
        reader = reader.option("startingOffsets", source.starting_offsets)
        if source.max_offsets_per_trigger:
            reader = reader.option("maxOffsetsPerTrigger", str(source.max_offsets_per_trigger))
        return kafka_envelope(reader.load(), source.name)
    if source.kind == "delta":
        reader = spark.readStream.format("delta")
        if source.max_files_per_trigger:
            reader = reader.option("maxFilesPerTrigger", str(source.max_files_per_trigger))
        if source.skip_change_commits:
            reader = reader.option("skipChangeCommits", "true")
        rows = reader.load(source.path) if source.path else reader.table(source.table)
        if getattr(source, "filter", None):
            rows = rows.where(source.filter)
        return table_envelope(
            rows,
            source_name=source.name,
            kind="delta",
            table=str(source.path or source.table),
            payload_column=getattr(source, "payload_column", None),
            # Delta's streaming source has no _metadata column (delta-io/delta#2014); the
            # file name, evaluated right above its scan, gives rows the ids a batch read does.
            file=F.input_file_name(),
            key_column=getattr(source, "key_column", None),
        )
    raise PipelineRunError(
        "SOURCE_NOT_STREAMABLE",
        f"Source {source.name!r} of kind {source.kind!r} cannot be read as a stream; "
        "use a kafka or delta source, or run it with --mode batch.",
        {"source": source.name, "kind": source.kind},
    )
