"""Where events come from: Kafka topics, Delta tables, folders of files (`sources`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from spark_enrich.config.models._base import ConfigModel, exactly_one
from spark_enrich.config.types import (
    Int,
    Name,
    NonNegativeDuration,
    OptionValue,
    PathStr,
    Regex,
    TopicName,
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


class KafkaSource(ConfigModel):
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
        exactly_one(self, "topics", "pattern", "TOPICS_XOR_PATTERN")
        return self


class DeltaSource(ConfigModel):
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
        exactly_one(self, "path", "table", "PATH_XOR_TABLE")
        return self


class FilesSource(ConfigModel):
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
