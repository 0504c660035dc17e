"""The output contract and where records go: sink and dead letters."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from spark_enrich.config.ddl import DataType, parse_type
from spark_enrich.config.models._base import ConfigModel, exactly_one
from spark_enrich.config.types import (
    DDLTypeStr,
    Float,
    Int,
    OptionValue,
    PathStr,
)


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


class Sink(ConfigModel):
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
        exactly_one(self, "path", "table", "PATH_XOR_TABLE")
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

    @model_validator(mode="after")
    def _path_xor_table(self) -> DeadLetters:
        exactly_one(self, "path", "table", "PATH_XOR_TABLE")
        return self
