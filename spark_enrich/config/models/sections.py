"""Decoding, executors and enrichments: how events are read, processed and enriched."""

from __future__ import annotations

import warnings
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from spark_enrich.config.ddl import StructType, parse_schema
from spark_enrich.config.models._base import ConfigModel, Faults, exactly_one
from spark_enrich.config.problems import Loc
from spark_enrich.config.types import (
    DURATION_PATTERN,
    DatetimePattern,
    DDLSchemaStr,
    Duration,
    Float,
    HttpUrlStr,
    Instant,
    Int,
    Name,
    NameRef,
    NonNegativeDuration,
    NullPolicy,
    PathStr,
    format_duration,
    parse_duration,
)

with warnings.catch_warnings():
    # `schema` is the natural key in the YAML; it shadows BaseModel.schema, a deprecated v1 API.
    warnings.filterwarnings("ignore", message=".*shadows an attribute.*")

    class Decoding(ConfigModel):
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

        def check(self, faults: Faults) -> None:
            struct = self.struct
            named: list[tuple[str, Loc]] = [
                (getattr(self, attr), (attr,))
                for attr in ("event_type_field", "event_time_field", "event_id_field")
            ]
            named += [(name, ("required", i)) for i, name in enumerate(self.required)]
            for name, at in named:
                if struct.field(name) is None:
                    problem = f"{name!r} is not a field of decoding.schema"
                    faults.not_one_of("UNKNOWN_FIELD", problem, name, struct.names(), at)


class ExecutorConfig(ConfigModel):
    """One executor the pipeline runs, by its registered name."""

    name: NameRef = Field(min_length=1, description="Registered executor name.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Executor parameters, validated by its params model."
    )
    shared_event_types: list[str] = Field(
        default_factory=list,
        description="Event types this executor knowingly shares with another executor.",
    )


class AsOf(ConfigModel):
    """Point-in-time join columns: the table row valid at the event time is joined."""

    event_time: str = Field(description="Event column holding the event time.")
    valid_from: str = Field(description="Table column where a row's validity starts.")
    valid_to: str | None = Field(
        default=None, description="Table column where it ends; null = until the next row."
    )


EVERY_BATCH = "every_batch"
"""``enrichments.tables[].refresh``: read and prepare the table again for every batch."""


def _refresh(value: object) -> object:
    if value == EVERY_BATCH:
        return value
    try:
        interval = parse_duration(value)
    except PydanticCustomError:
        interval = None
    if interval is None or interval <= timedelta(0):
        raise PydanticCustomError(
            "BAD_VALUE",
            "'{value}' is neither every_batch nor a duration longer than zero, like 30s or 5m",
            {"value": value, "allowed": "every_batch, or a duration like 30s, 5m, 1h"},
        )
    return interval


def _refresh_json(value: timedelta | str) -> str:
    return value if isinstance(value, str) else format_duration(value)


Refresh = Annotated[
    Literal["every_batch"] | Duration,
    BeforeValidator(_refresh),
    WithJsonSchema(
        {
            "anyOf": [
                {"const": EVERY_BATCH},
                {"type": "string", "pattern": DURATION_PATTERN},
            ],
            "examples": ["5m", "30s", EVERY_BATCH],
        }
    ),
    PlainSerializer(_refresh_json, return_type=str, when_used="json"),
]
"""How often the engine checks an offline table for a new Delta version: a duration, or
``every_batch``."""


class TableEnrichment(ConfigModel):
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
        description="Point-in-time join by `ctx.join`; null = one row per key.",
    )
    refresh: Refresh = Field(
        default=timedelta(minutes=5),
        description=(
            "How often the engine checks the table's Delta version and, when it changed, "
            "swaps in a new snapshot (read, prepared and cached once, then reused by every "
            "batch); `every_batch` reads and prepares the table for every batch."
        ),
    )

    def shape(self) -> None:
        exactly_one(self, "path", "table", "PATH_XOR_TABLE")

    def check(self, faults: Faults) -> None:
        as_of = self.as_of
        if as_of is None:
            return
        for column in ("valid_from", "valid_to"):
            name = getattr(as_of, column)
            if name is not None and name in self.keys:
                faults.add(
                    "BAD_VALUE",
                    f"as_of.{column} {name!r} is also a join key of table {self.name!r}; "
                    "a row's validity column cannot be matched against the event",
                    ("as_of", column),
                    name,
                    "a table column that is not in keys: " + ", ".join(self.keys),
                )
        if as_of.valid_to is not None and as_of.valid_to == as_of.valid_from:
            faults.add(
                "BAD_VALUE",
                f"as_of.valid_to is the same column as as_of.valid_from ({as_of.valid_from!r})"
                "; no event time would fall in [valid_from, valid_to)",
                ("as_of", "valid_to"),
                as_of.valid_to,
                f"a column other than {as_of.valid_from!r}, or null (until the next row)",
            )


class ServiceEnrichment(ConfigModel):
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


class Enrichments(ConfigModel):
    """Offline tables and services the executors may use."""

    tables: list[TableEnrichment] = Field(default_factory=list, description="Offline tables.")
    services: list[ServiceEnrichment] = Field(
        default_factory=list, description="Enrichment services."
    )

    def check(self, faults: Faults) -> None:
        faults.unique([t.name for t in self.tables], "table", "tables", at=("tables",))
        faults.unique([s.name for s in self.services], "service", "services", at=("services",))
