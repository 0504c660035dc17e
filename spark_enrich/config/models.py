"""The pipeline file as pydantic models: frozen, unknown keys forbidden, variants keyed by ``kind``.

The models check the shape of each section and each value; rules that relate sections to one
another (executors against the registry, keys against the output contract, nested paths...)
live in :mod:`spark_enrich.config.rules`. Field descriptions are the configuration reference:
``docs/configuration.md`` is generated from them.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from spark_enrich.config.ddl import DataType, StructType, parse_schema, parse_type
from spark_enrich.config.types import (
    DatetimePattern,
    DDLSchemaStr,
    DDLTypeStr,
    Duration,
    Float,
    HttpUrlStr,
    Instant,
    Int,
    Name,
    NameRef,
    NonNegativeDuration,
    NullPolicy,
    OptionValue,
    PathStr,
    Regex,
    TopicName,
    format_duration,
)

__all__ = [
    "AsOf",
    "AvailableNowTrigger",
    "BatchRuntime",
    "DeadLetters",
    "Decoding",
    "DeltaMetrics",
    "DeltaSource",
    "Enrichments",
    "ExecutorConfig",
    "FilesSource",
    "KafkaSource",
    "LogMetrics",
    "NoMetrics",
    "Observability",
    "OutputColumn",
    "OutputContract",
    "PipelineConfig",
    "ProcessingTimeTrigger",
    "Runtime",
    "SequenceSpec",
    "ServiceEnrichment",
    "Sink",
    "Source",
    "StreamRuntime",
    "TableEnrichment",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _exactly_one(model: BaseModel, first: str, second: str, code: str) -> None:
    given = [k for k in (first, second) if getattr(model, k) is not None]
    if len(given) != 1:
        found = "both" if given else "neither"
        raise PydanticCustomError(
            code,
            "give exactly one of `{first}` and `{second}` (found {found})",
            {
                "first": first,
                "second": second,
                "found": found,
                "allowed": f"`{first}` or `{second}`",
            },
        )


_PAYLOAD_COLUMN_DESCRIPTION = (
    "Column holding the raw payload to decode: STRING, or BINARY holding the text (cast to "
    "STRING; its bytes are the dead letter's `raw_payload`). Null when rows are already typed: "
    "each row's columns are decoded as one JSON object."
)
_KEY_COLUMN_DESCRIPTION = (
    "Top-level column holding each record's key (the Kafka key an archive kept): dead letters "
    "carry it as `kafka_key`, as they carry a Kafka record's key; a BINARY column as is, any "
    "other type as the UTF-8 bytes of its text. Null = no key."
)


class KafkaSource(_Model):
    """Events from Kafka topics, read with Spark's Kafka source."""

    kind: Literal["kafka"] = Field(description="`kafka`.")
    name: Name = Field(description="Logical name of the source, unique in the pipeline.")
    bootstrap_servers: str = Field(
        min_length=1, description="Comma-separated `host:port` list of Kafka brokers."
    )
    topics: list[TopicName] | None = Field(
        default=None, min_length=1, description="Topics to subscribe to (or use `pattern`)."
    )
    pattern: Regex | None = Field(
        default=None, description="Regular expression of topics to subscribe to (or `topics`)."
    )
    starting_offsets: str = Field(
        default="latest",
        description="`earliest`, `latest` or a JSON object of per-partition offsets, used when "
        "the checkpoint is new.",
    )
    max_offsets_per_trigger: Int | None = Field(
        default=None, gt=0, description="Upper bound of records read per micro-batch."
    )
    fail_on_data_loss: bool = Field(
        default=True, description="Fail when offsets were deleted before being read."
    )
    backfill_lateness: NonNegativeDuration = Field(
        default=timedelta(days=1),
        description="For topics stamped by the broker (`message.timestamp.type: "
        "LogAppendTime`): a backfill of `[from, to)` reads the records stamped from `from` "
        "minus this to `to` plus this, and writes the events whose output date is in the range "
        "(the others are counted as `outside_range`); an event that reached Kafka later than "
        "this after its time is missed by backfills of its day. A CreateTime topic (Kafka's "
        "default) is read whole, so this does not apply to it.",
    )
    options: dict[str, OptionValue] = Field(
        default_factory=dict,
        description="Extra options of Spark's Kafka source; keys start with `kafka.`.",
    )

    @model_validator(mode="after")
    def _topics_xor_pattern(self) -> KafkaSource:
        _exactly_one(self, "topics", "pattern", "TOPICS_XOR_PATTERN")
        return self


class DeltaSource(_Model):
    """Events from a Delta table (for example the raw archive that backfills replay)."""

    kind: Literal["delta"] = Field(description="`delta`.")
    name: Name = Field(description="Logical name of the source, unique in the pipeline.")
    path: PathStr | None = Field(default=None, description="Path of the Delta table (or `table`).")
    table: str | None = Field(
        default=None, min_length=1, description="Catalog name of the table (or `path`)."
    )
    payload_column: str | None = Field(
        default=None,
        description=_PAYLOAD_COLUMN_DESCRIPTION,
    )
    key_column: str | None = Field(
        default=None,
        min_length=1,
        description=_KEY_COLUMN_DESCRIPTION,
    )
    date_column: str | None = Field(
        default=None,
        description="This table's date column, which batch runs (`--from/--to`) and backfills "
        "select the range on (default: `runtime.batch.date_column`, which the table then "
        "needs).",
    )
    backfill_lateness: NonNegativeDuration = Field(
        default=timedelta(days=1),
        description="When `date_column` is not the output's date column (an ingest date, "
        "say): a backfill of `[from, to)` reads the rows dated from `from` minus this to `to` "
        "plus this, and writes the events whose output date is in the range (the others are "
        "counted as `outside_range`); a row dated later than this after its event is missed "
        "by backfills of its day. Unused when the two are the same column.",
    )
    filter: str | None = Field(default=None, description="Spark SQL predicate applied on read.")
    max_files_per_trigger: Int | None = Field(
        default=None,
        gt=0,
        description="Streaming: upper bound of new data files read per micro-batch "
        "(backpressure; Delta's default is 1000).",
    )
    skip_change_commits: bool = Field(
        default=False,
        description="Streaming: skip commits that delete or rewrite rows of the table (an "
        "upstream backfill's `replaceWhere`, a retention delete) instead of failing at them. "
        "The rows such commits add are skipped too: backfill this pipeline over the same range.",
    )

    @model_validator(mode="after")
    def _path_xor_table(self) -> DeltaSource:
        _exactly_one(self, "path", "table", "PATH_XOR_TABLE")
        return self


class FilesSource(_Model):
    """Events from a folder of JSON or Parquet files (the log archive)."""

    kind: Literal["files"] = Field(description="`files`.")
    name: Name = Field(description="Logical name of the source, unique in the pipeline.")
    path: PathStr = Field(description="Folder of the files.")
    format: Literal["json", "parquet"] = Field(default="json", description="File format.")
    payload_column: str | None = Field(
        default=None,
        description=_PAYLOAD_COLUMN_DESCRIPTION,
    )
    key_column: str | None = Field(
        default=None,
        min_length=1,
        description=_KEY_COLUMN_DESCRIPTION,
    )


Source = Annotated[KafkaSource | DeltaSource | FilesSource, Field(discriminator="kind")]


with warnings.catch_warnings():
    # `schema` is the natural key in the YAML; it shadows BaseModel.schema, a deprecated v1 API.
    warnings.filterwarnings("ignore", message=".*shadows an attribute.*")

    class Decoding(_Model):
        """How raw payloads become typed raw events."""

        format: Literal["json"] = Field(default="json", description="Payload format.")
        schema: DDLSchemaStr = Field(  # type: ignore[assignment]
            description="The raw event schema as a Spark DDL column list."
        )
        event_type_field: str = Field(
            default="event_type", description="Field holding the event type (routes to executors)."
        )
        event_time_field: str = Field(
            default="event_time", description="Field holding the event time."
        )
        event_time_format: DatetimePattern | None = Field(
            default=None, description="Spark datetime pattern of the event time; null = ISO-8601."
        )
        event_id_field: str = Field(default="event_id", description="Field holding the event id.")
        required: list[str] = Field(
            default_factory=list,
            description="Fields that must be present; events lacking one become dead letters.",
        )
        max_payload_bytes: Int = Field(
            default=1_048_576, gt=0, description="Larger payloads become dead letters."
        )
        unrouted: Literal["count", "dead_letter"] = Field(
            default="count",
            description="What happens to events no executor handles: counted, or dead-lettered.",
        )
        event_time_min: Instant | None = Field(
            default="2000-01-01T00:00:00Z",
            description="Events timed before this instant become dead letters "
            "(`schema_mismatch`); null = no lower bound. Lower it to backfill older history.",
        )
        event_time_max_ahead: NonNegativeDuration | None = Field(
            default=timedelta(days=1),
            description="Events timed further than this after the moment they are processed "
            "become dead letters (`schema_mismatch`); null = no upper bound.",
        )

        @cached_property
        def struct(self) -> StructType:
            """The parsed raw-event schema."""
            return parse_schema(self.schema)


class ExecutorConfig(_Model):
    """One executor the pipeline runs, by its registered name."""

    name: NameRef = Field(min_length=1, description="Registered executor name.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Executor parameters, validated by its params model."
    )
    shared_event_types: list[str] = Field(
        default_factory=list,
        description="Event types this executor knowingly shares with another executor.",
    )


class AsOf(_Model):
    """Point-in-time join columns: the table row valid at the event time is joined."""

    event_time: str = Field(description="Event column holding the event time.")
    valid_from: str = Field(description="Table column where a row's validity starts.")
    valid_to: str | None = Field(
        default=None, description="Table column where it ends; null = until the next row."
    )


class TableEnrichment(_Model):
    """An offline Delta table that executors join, by logical name."""

    name: Name = Field(description="Logical name executors use (`ctx.table(name)`).")
    path: PathStr | None = Field(default=None, description="Path of the Delta table (or `table`).")
    table: str | None = Field(
        default=None, min_length=1, description="Catalog name of the table (or `path`)."
    )
    keys: list[str] = Field(
        min_length=1, description="Join key columns (same names in events and table; `ctx.join`)."
    )
    broadcast: bool = Field(default=False, description="Hint Spark to broadcast the table.")
    as_of: AsOf | None = Field(
        default=None,
        description="Point-in-time join by `ctx.join`; null = join every row of the key.",
    )

    @model_validator(mode="after")
    def _path_xor_table(self) -> TableEnrichment:
        _exactly_one(self, "path", "table", "PATH_XOR_TABLE")
        return self


class ServiceEnrichment(_Model):
    """An HTTP enrichment service that executors call, by logical name."""

    name: Name = Field(description="Logical name executors use.")
    url: HttpUrlStr = Field(description="Endpoint receiving batched requests.")
    batch_size: Int = Field(default=100, gt=0, description="Events per request.")
    concurrency: Int = Field(default=4, gt=0, description="Concurrent requests per executor.")
    timeout: Duration = Field(default=timedelta(seconds=5), description="Per-request timeout.")
    retries: Int = Field(default=3, ge=0, description="Retries after a failed request.")
    backoff: NonNegativeDuration = Field(
        default=timedelta(milliseconds=200), description="First retry delay; doubles per retry."
    )
    rate_limit_per_s: Float | None = Field(
        default=None, gt=0, description="Request rate limit per executor; null = none."
    )
    on_failure: Annotated[Literal["dead_letter", "null", "fail"], NullPolicy] = Field(
        default="dead_letter",
        description="When retries are exhausted: dead-letter the event, leave the fields null, "
        "or fail the run.",
    )
    request_columns: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="Event columns sent."
    )
    response_schema: DDLSchemaStr = Field(description="Fields returned, as a DDL column list.")


class Enrichments(_Model):
    """Offline tables and services the executors may use."""

    tables: list[TableEnrichment] = Field(default_factory=list, description="Offline tables.")
    services: list[ServiceEnrichment] = Field(
        default_factory=list, description="Enrichment services."
    )


class OutputColumn(_Model):
    """One column of the output contract."""

    name: str = Field(min_length=1, description="Column name.")
    type: DDLTypeStr = Field(description="Spark DDL type, like `string` or `array<string>`.")
    nullable: bool = Field(default=True, description="Whether null is allowed.")

    @cached_property
    def data_type(self) -> DataType:
        """The parsed type."""
        return parse_type(self.type)


class OutputContract(_Model):
    """The normalised record every executor produces."""

    columns: list[OutputColumn] = Field(min_length=1, description="Output columns, in order.")
    key: list[str] = Field(
        min_length=1,
        description=(
            "Columns that identify an event uniquely. With a `merge` sink, include the partition "
            "column (such as the event's date) to make each merge read only the partitions its "
            "batch writes to instead of the whole table."
        ),
    )


class SequenceSpec(_Model):
    """How a `sequence` sink folds events into one row per group (a user's last N events)."""

    group_by: list[str] = Field(
        min_length=1, description="Output columns identifying a sequence, such as `user_id`."
    )
    order_by: list[str] = Field(
        min_length=1,
        description="Output columns ordering a sequence, oldest first (nulls oldest); the last "
        "`length` events in this order are kept. Ties are ordered by the output key.",
    )
    length: Int = Field(gt=0, le=10_000, description="Events kept per sequence.")
    column: str = Field(
        default="events",
        min_length=1,
        description="Name of the array column holding the events, oldest first.",
    )


class Sink(_Model):
    """The Delta table receiving enriched records."""

    path: PathStr | None = Field(default=None, description="Path of the Delta table (or `table`).")
    table: str | None = Field(
        default=None, min_length=1, description="Catalog name of the table (or `path`)."
    )
    mode: Literal["append", "merge", "sequence"] = Field(
        default="merge",
        description="`merge` on the output key (idempotent), `append`, or `sequence`: one row "
        "per group holding its last events (see `sequence`).",
    )
    sequence: SequenceSpec | None = Field(
        default=None, description="With `mode: sequence`: how events fold into sequences."
    )
    partition_by: list[str] = Field(default_factory=list, description="Partition columns.")
    retention_days: Int | None = Field(
        default=None, gt=0, le=36_500, description="Days of data kept; null = forever."
    )
    properties: dict[str, OptionValue] = Field(
        default_factory=dict,
        description="Delta table properties; set on an existing table when it differs, "
        "never unset.",
    )

    @model_validator(mode="after")
    def _path_xor_table(self) -> Sink:
        _exactly_one(self, "path", "table", "PATH_XOR_TABLE")
        return self

    @model_validator(mode="after")
    def _sequence_with_its_mode(self) -> Sink:
        if (self.mode == "sequence") != (self.sequence is not None):
            found = f"mode {self.mode} " + ("with" if self.sequence else "without") + " sequence"
            raise PydanticCustomError(
                "SEQUENCE_MODE",
                "`sequence` is needed by, and only by, `mode: sequence` (found {found})",
                {
                    "found": found,
                    "allowed": "mode: sequence with a sequence section, or another mode without",
                },
            )
        return self


class DeadLetters(_Model):
    """The Delta table receiving events that could not be processed."""

    path: PathStr | None = Field(default=None, description="Path of the Delta table (or `table`).")
    table: str | None = Field(
        default=None, min_length=1, description="Catalog name of the table (or `path`)."
    )
    max_share: Float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Fail a run when more than this share of its events are dead letters.",
    )

    @model_validator(mode="after")
    def _path_xor_table(self) -> DeadLetters:
        _exactly_one(self, "path", "table", "PATH_XOR_TABLE")
        return self


class AvailableNowTrigger(_Model):
    """Process everything available, then stop."""

    kind: Literal["available_now"] = Field(description="`available_now`.")


class ProcessingTimeTrigger(_Model):
    """Start a micro-batch every `interval`."""

    kind: Literal["processing_time"] = Field(description="`processing_time`.")
    interval: Duration = Field(description="Time between micro-batch starts.")


Trigger = Annotated[AvailableNowTrigger | ProcessingTimeTrigger, Field(discriminator="kind")]


class StreamRuntime(_Model):
    """Structured-streaming settings."""

    checkpoint: PathStr | None = Field(
        default=None, description="Checkpoint location (required, one per pipeline)."
    )
    trigger: Trigger = Field(
        default_factory=lambda: ProcessingTimeTrigger(
            kind="processing_time", interval=timedelta(seconds=10)
        ),
        description="When micro-batches run.",
    )


class BatchRuntime(_Model):
    """Batch and backfill settings."""

    source: NameRef = Field(min_length=1, description="Name of the source batch runs read.")
    date_column: str = Field(
        min_length=1,
        description="The output's date column: the range a backfill replaces (when it is an "
        "output column; else the sink's partition column). A source without a `date_column` "
        "of its own is selected on this column too.",
    )
    chunk: Duration = Field(
        default=timedelta(days=1), description="Date range per chunk: a whole number of days."
    )

    @field_validator("chunk")
    @classmethod
    def _whole_days(cls, value: timedelta) -> timedelta:
        # Backfills replace whole days (the output's date column): 12h would silently be 1d.
        if value % timedelta(days=1):
            raise PydanticCustomError(
                "BAD_DURATION",
                "'{value}' is not a whole number of days: backfills replace whole dates",
                {"value": format_duration(value), "allowed": "1d, 2d, 7d, ...", "example": "1d"},
            )
        return value


class Runtime(_Model):
    """How the pipeline runs: as a stream, as batch/backfill, or both."""

    stream: StreamRuntime | None = Field(default=None, description="Streaming settings.")
    batch: BatchRuntime | None = Field(default=None, description="Batch and backfill settings.")


class LogMetrics(_Model):
    """Metrics go to the driver log."""

    kind: Literal["log"] = Field(description="`log`.")


class DeltaMetrics(_Model):
    """Metrics are appended to a Delta table."""

    kind: Literal["delta"] = Field(description="`delta`.")
    path: PathStr = Field(description="Path of the metrics table.")


class NoMetrics(_Model):
    """Metrics are not recorded."""

    kind: Literal["none"] = Field(description="`none`.")


Metrics = Annotated[LogMetrics | DeltaMetrics | NoMetrics, Field(discriminator="kind")]


class Observability(_Model):
    """Where run metrics go."""

    metrics: Metrics = Field(
        default_factory=lambda: LogMetrics(kind="log"), description="Metrics destination."
    )


def _version_to_str(value: Any) -> Any:
    # `version: 3` is the text "3"; `version: 1.10` is the number 1.1 by the time it is here,
    # so a float stays a float and is reported (quote it) instead of silently becoming "1.1".
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class PipelineConfig(_Model):
    """A pipeline file: sources, decoding, executors, enrichments, output, sink and runtime.

    Load one with :func:`spark_enrich.config.load_pipeline`; ``model_validate`` checks the shape
    only, :func:`spark_enrich.config.validate_pipeline` also checks the cross-field rules.
    """

    name: Name = Field(description="Pipeline name: lower-case letters, digits, `_`, `-`.")
    version: Annotated[str, Field(min_length=1)] = Field(
        description="Version of this configuration (a string)."
    )
    sources: list[Source] = Field(min_length=1, description="Where events come from.")
    decoding: Decoding = Field(description="How payloads become typed events.")
    executors: list[ExecutorConfig] = Field(min_length=1, description="Executors to run.")
    enrichments: Enrichments = Field(
        default_factory=Enrichments, description="Offline tables and services."
    )
    output: OutputContract = Field(description="The output contract.")
    sink: Sink = Field(description="Where enriched records go.")
    dead_letters: DeadLetters = Field(description="Where unprocessable events go.")
    runtime: Runtime = Field(description="Stream and batch settings.")
    observability: Observability = Field(
        default_factory=Observability, description="Where metrics go."
    )

    _source_file: str | None = PrivateAttr(default=None)
    _document: Any = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _coerce_version(cls, data: Any) -> Any:
        if isinstance(data, dict) and "version" in data:
            return {**data, "version": _version_to_str(data["version"])}
        return data

    @property
    def source_file(self) -> str | None:
        """The YAML file this configuration was loaded from (None when built from a dict)."""
        return self._source_file

    def config_hash(self) -> str:
        """Stable sha256 of the canonical JSON of the configuration (hex)."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def source(self, name: str) -> KafkaSource | DeltaSource | FilesSource:
        """The source called ``name``.

        Raises:
            KeyError: no such source (the message lists the known ones).
        """
        return _find(self.sources, name, "source")

    def table(self, name: str) -> TableEnrichment:
        """The offline table called ``name``.

        Raises:
            KeyError: no such table.
        """
        return _find(self.enrichments.tables, name, "table")

    def service(self, name: str) -> ServiceEnrichment:
        """The enrichment service called ``name``.

        Raises:
            KeyError: no such service.
        """
        return _find(self.enrichments.services, name, "service")


_T = TypeVar("_T", KafkaSource | DeltaSource | FilesSource, TableEnrichment, ServiceEnrichment)


def _find(items: list[_T], name: str, what: str) -> _T:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"no {what} named {name!r}; declared: {sorted(i.name for i in items)}")
