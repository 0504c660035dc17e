"""The output contract and where records go: sink and dead letters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import Literal

from pydantic import Field
from pydantic_core import PydanticCustomError

from spark_enrich.columns import SEQUENCE_UPDATED_AT
from spark_enrich.config.ddl import DataType, MapType, parse_type
from spark_enrich.config.models._base import ConfigModel, Faults, Reporter, exactly_one
from spark_enrich.config.online import OnlineStore
from spark_enrich.config.problems import Loc
from spark_enrich.config.types import (
    DDLTypeStr,
    Duration,
    Float,
    Int,
    OptionValue,
    PathStr,
)

# Table properties Spark reserves for its own clauses: dropped silently at creation, refused
# by ALTER TABLE (Spark 4.2, CatalogV2Util.TABLE_RESERVED_PROPERTIES).
_RESERVED_TABLE_PROPERTIES = frozenset(
    {
        "collation",
        "comment",
        "external",
        "is_managed_location",
        "location",
        "owner",
        "provider",
        "table_type",
    }
)


SinkMode = Literal["append", "merge", "sequence"]
"""How the sink writes: append, merge on the output key, or fold into sequences."""


class OutputColumn(ConfigModel):
    """One column of the output contract."""

    name: str = Field(min_length=1, description="Column name.")
    type: DDLTypeStr = Field(description="Spark DDL type, like `string` or `array<string>`.")
    nullable: bool = Field(default=True, description="Whether null is allowed.")

    @cached_property
    def data_type(self) -> DataType:
        """The parsed type."""
        return parse_type(self.type)


class OutputContract(ConfigModel):
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

    def check(self, faults: Faults) -> None:
        names = [c.name for c in self.columns]
        # Spark resolves column names case-insensitively: `query` and `Query` are one.
        faults.unique(names, "column", "columns", at=("columns",), fold_case=True)
        for i, name in enumerate(self.key):
            comparable_column(faults, self.columns, name, ("key", i), "key column")
        for i, name in enumerate(names):
            no_backtick(faults, name, ("columns", i, "name"))


def output_column(
    report: Reporter, columns: Sequence[OutputColumn], name: str, at: Loc, what: str
) -> OutputColumn | None:
    """The output column ``name``; a ``NOT_IN_OUTPUT`` problem when there is none."""
    by_name = {c.name: c for c in columns}
    if name in by_name:
        return by_name[name]
    problem = f"{what} {name!r} is not a column of output.columns"
    report.not_one_of("NOT_IN_OUTPUT", problem, name, list(by_name), at)
    return None


def comparable_column(
    report: Reporter, columns: Sequence[OutputColumn], name: str, at: Loc, what: str
) -> None:
    """``name`` is an output column whose values can be compared (not a map)."""
    column = output_column(report, columns, name, at, what)
    if column is not None and isinstance(column.data_type, MapType):
        report.add(
            "BAD_KEY_COLUMN",
            f"{what} {name!r} has type {column.type}; map values cannot be compared",
            at,
            column.type,
            "a column of a comparable type (string, date, int, struct, array, ...)",
        )


def no_backtick(report: Reporter, name: str, at: Loc) -> None:
    """Delta's MERGE builds attribute names without escaping backticks."""
    if "`" in name:
        report.add(
            "BAD_NAME",
            f"column name {name!r} holds a backtick, which Delta's MERGE cannot name",
            at,
            name,
            "a name without backticks",
        )


class SequenceSpec(ConfigModel):
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

    def check(self, faults: Faults) -> None:
        for field in ("group_by", "order_by"):
            seen: set[str] = set()
            for i, name in enumerate(getattr(self, field)):
                if name in seen:
                    faults.add(
                        "DUPLICATE_NAME",
                        f"sequence.{field} lists {name!r} twice",
                        (field, i),
                        name,
                        f"each {field} column once",
                    )
                seen.add(name)
        if all(name in self.group_by for name in self.order_by):
            faults.add(
                "BAD_VALUE",
                "every sequence.order_by column is a group_by column, constant within a "
                "sequence: it cannot order the events",
                ("order_by",),
                json.dumps(self.order_by),
                "a column that varies within a sequence, such as the event time",
                "order_by: [event_time]",
            )
        taken = {name.lower() for name in self.group_by} | {SEQUENCE_UPDATED_AT.lower()}
        if self.column.lower() in taken:
            faults.add(
                "DUPLICATE_NAME",
                f"sequence.column {self.column!r} is also the name of a group_by column "
                f"or of the engine's {SEQUENCE_UPDATED_AT!r} column",
                ("column",),
                self.column,
                "a name other than " + ", ".join(sorted([*self.group_by, SEQUENCE_UPDATED_AT])),
                "events",
            )
        no_backtick(faults, self.column, ("column",))


class Dedup(ConfigModel):
    """Dropping redelivered events by their id, before the executors (`sink.dedup`)."""

    window: Duration = Field(
        description="How long after an event's first delivery a stream still recognises a "
        "redelivery (the same `decoding.event_id_field` value) and drops it; the stream keeps "
        "the ids it saw in this window in its state (RocksDB, in the checkpoint). A redelivery "
        "later than this is processed again, like a new event.",
    )


class Sink(ConfigModel):
    """The Delta table receiving enriched records."""

    path: PathStr | None = Field(default=None, description="Path of the Delta table (or `table`).")
    table: str | None = Field(
        default=None, min_length=1, description="Catalog name of the table (or `path`)."
    )
    mode: SinkMode = Field(
        default="merge",
        description="`merge` on the output key (idempotent), `append`, or `sequence`: one row "
        "per group holding its last events (see `sequence`).",
    )
    sequence: SequenceSpec | None = Field(
        default=None, description="With `mode: sequence`: how events fold into sequences."
    )
    dedup: Dedup | None = Field(
        default=None,
        description="With `mode: append` or `merge`: drop redelivered events (same event id) "
        "before the executors, and let a stream append each micro-batch (idempotent) instead "
        "of merging it. A stream drops redeliveries within `dedup.window` of the first "
        "delivery, a batch run or backfill those within what it reads; `merge` batch runs "
        "still merge and backfills replace their range.",
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
    online: OnlineStore | None = Field(
        default=None,
        description="With `mode: sequence`: a Redis-protocol store that every fold also writes "
        "to, for online serving (`spark-enrich serve`).",
    )

    def shape(self) -> None:
        exactly_one(self, "path", "table", "PATH_XOR_TABLE")
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
        if self.dedup is not None and self.mode == "sequence":
            raise PydanticCustomError(
                "DEDUP_NEEDS_ROWS",
                "`dedup` needs `mode: append` or `merge` (found mode {found})",
                {"found": self.mode, "allowed": "mode: append or mode: merge"},
            )
        if self.online is not None and self.mode != "sequence":
            raise PydanticCustomError(
                "ONLINE_NEEDS_SEQUENCE",
                "`online` needs `mode: sequence` (found mode {found})",
                {"found": self.mode, "allowed": "mode: sequence"},
            )

    def check(self, faults: Faults) -> None:
        listed: set[str] = set()
        for i, name in enumerate(self.partition_by):
            if name in listed:
                faults.add(
                    "DUPLICATE_NAME",
                    f"partition column {name!r} is listed twice",
                    ("partition_by", i),
                    name,
                    "each partition column once",
                )
            listed.add(name)
        self._sequence_table(faults)
        for key in self.properties:
            if key.lower() in _RESERVED_TABLE_PROPERTIES:
                faults.add(
                    "RESERVED_TABLE_PROPERTY",
                    f"table property {key!r} is reserved by Spark: dropped without a word "
                    "when the table is created, refused by ALTER TABLE; remove it",
                    ("properties", key),
                    key,
                    "any property except " + ", ".join(sorted(_RESERVED_TABLE_PROPERTIES)),
                    key=True,
                )

    def _sequence_table(self, faults: Faults) -> None:
        if self.sequence is None:
            return
        groups = self.sequence.group_by
        for i, name in enumerate(self.partition_by):
            if name not in groups:
                faults.add(
                    "BAD_PARTITION_COLUMN",
                    f"partition column {name!r} is not a sequence.group_by column; a sequence "
                    "table holds one row per group and only group columns are left to partition "
                    "by",
                    ("partition_by", i),
                    name,
                    "one of: " + ", ".join(groups),
                )
        if self.retention_days is not None:
            faults.add(
                "BAD_VALUE",
                "retention_days deletes rows by date; a sequence sink keeps each group's last "
                "events instead and has no dated rows",
                ("retention_days",),
                str(self.retention_days),
                "null with mode: sequence (sequence.length bounds each sequence)",
                "retention_days: null",
            )


class DeadLetters(ConfigModel):
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

    def shape(self) -> None:
        exactly_one(self, "path", "table", "PATH_XOR_TABLE")
