"""Where events come from: Kafka topics, Delta tables, folders of files (`sources`)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from spark_enrich.config.models._base import ConfigModel, Faults, exactly_one
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
# Options Spark's Kafka source rejects or that another key of the source already sets.
_MANAGED_KAFKA_OPTIONS = {
    "kafka.bootstrap.servers": "set `bootstrap_servers` instead",
    "kafka.auto.offset.reset": "set `starting_offsets` instead",
    "kafka.enable.auto.commit": "Spark manages offsets in the checkpoint",
    "kafka.key.deserializer": "Spark always reads keys as bytes",
    "kafka.value.deserializer": "Spark always reads values as bytes",
    "kafka.interceptor.classes": "not supported by Spark's Kafka source",
}
_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")

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
        default=100_000,
        gt=0,
        description="Upper bound of records read per micro-batch: a stream that starts behind "
        "(a new checkpoint at `earliest`, a restart after downtime) catches up in micro-batches "
        "of this size, each committed, instead of one that reads the whole backlog. Size it to "
        "a few seconds of the pipeline's throughput; null reads everything available.",
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

    def shape(self) -> None:
        exactly_one(self, "topics", "pattern", "TOPICS_XOR_PATTERN")

    def check(self, faults: Faults) -> None:
        servers = self.bootstrap_servers
        bad = [
            h
            for h in servers.split(",")
            if not _HOST_PORT.match(h.strip()) or not 0 < int(h.strip().rsplit(":", 1)[1]) < 65536
        ]
        if bad:
            faults.add(
                "BAD_VALUE",
                f"bootstrap server {bad[0].strip()!r} is not host:port (port 1-65535)",
                ("bootstrap_servers",),
                servers,
                "a comma-separated host:port list",
                "127.0.0.1:9092",
            )
        offsets = self.starting_offsets
        if offsets not in ("earliest", "latest"):
            try:
                ok = isinstance(json.loads(offsets), dict)
            except ValueError:
                ok = False
            if not ok:
                faults.add(
                    "BAD_VALUE",
                    f"starting_offsets {offsets!r} is neither earliest, latest nor a JSON "
                    "object of offsets",
                    ("starting_offsets",),
                    offsets,
                    'earliest | latest | {"topic": {"0": 23}}',
                    "earliest",
                )
        for key in self.options:
            reason = _MANAGED_KAFKA_OPTIONS.get(key)
            if not key.startswith("kafka."):
                faults.add(
                    "BAD_OPTION",
                    f"option {key!r} must start with 'kafka.' (it goes to the Kafka client)",
                    ("options", key),
                    key,
                    "kafka.<client option>",
                    f"kafka.{key}",
                    key=True,
                )
            elif reason is not None:
                faults.add(
                    "BAD_OPTION",
                    f"option {key!r} cannot be set here: {reason}",
                    ("options", key),
                    key,
                    "any other kafka.* option",
                    key=True,
                )


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

    def shape(self) -> None:
        exactly_one(self, "path", "table", "PATH_XOR_TABLE")

    def check(self, faults: Faults) -> None:
        _key_not_payload(faults, self.payload_column, self.key_column)


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

    def check(self, faults: Faults) -> None:
        _key_not_payload(faults, self.payload_column, self.key_column)


def _key_not_payload(faults: Faults, payload: str | None, key: str | None) -> None:
    # Spark resolves column names case-insensitively: `Value` is the column `value`.
    if key is not None and (payload or "").lower() == key.lower():
        faults.add(
            "BAD_VALUE",
            f"key_column {key!r} is the payload column; the key is another column of the "
            "archive (Kafka's record key, stored beside the value)",
            ("key_column",),
            key,
            f"a column other than payload_column {payload!r}, or null",
            "key_column: key",
        )


AnySource = KafkaSource | DeltaSource | FilesSource
"""Any source model: the type the engine takes (dispatch on the class, not on ``kind``)."""
TableSource = DeltaSource | FilesSource
"""The sources that read rows of a table or of files (payload and key columns)."""
Source = Annotated[AnySource, Field(discriminator="kind")]
"""A source as the YAML holds it: one of :data:`AnySource`, chosen by its ``kind``."""
