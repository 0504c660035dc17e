"""How a pipeline runs (stream, batch)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from spark_enrich.config.models._base import ConfigModel, Faults
from spark_enrich.config.types import (
    Duration,
    Int,
    NameRef,
    PathStr,
    format_duration,
)


class AvailableNowTrigger(ConfigModel):
    """Process everything available, then stop."""

    kind: Literal["available_now"] = Field(description="`available_now`.")


class ProcessingTimeTrigger(ConfigModel):
    """Start a micro-batch every `interval`."""

    kind: Literal["processing_time"] = Field(description="`processing_time`.")
    interval: Duration = Field(description="Time between micro-batch starts.")


Trigger = Annotated[AvailableNowTrigger | ProcessingTimeTrigger, Field(discriminator="kind")]


class StreamRuntime(ConfigModel):
    """Structured-streaming settings."""

    checkpoint: PathStr | None = Field(
        default=None, description="Checkpoint location (required, one per pipeline)."
    )
    trigger: Trigger = Field(
        default_factory=lambda: ProcessingTimeTrigger(
            kind="processing_time", interval=timedelta(seconds=1)
        ),
        description="When micro-batches run. The default, a micro-batch every second (or as "
        "soon as the previous one ends, when it took longer), keeps latency low; a longer "
        "interval makes fewer, larger commits.",
    )
    optimize_write: bool = Field(
        default=False,
        description="Whether the stream's sink commits use Delta's optimized writes, whatever "
        "the table property `delta.autoOptimize.optimizeWrite` says (batch runs and backfills "
        "follow the property). Off by default: it adds a shuffle to every micro-batch to make "
        "fewer files, which a small micro-batch does not need; compact with "
        "`spark-enrich maintain` instead.",
    )
    shuffle_partitions: Int | None = Field(
        default=None,
        gt=0,
        description="`spark.sql.shuffle.partitions` of the stream's micro-batches (and of "
        "`sink.dedup`'s state, fixed when the checkpoint is created). Null: the cluster's "
        "cores (Spark's default parallelism) when the stream starts, instead of Spark's 200, "
        "which would give a micro-batch of a few events hundreds of tasks per shuffle.",
    )

    def check(self, faults: Faults) -> None:
        if self.checkpoint is None:
            faults.add(
                "MISSING_CHECKPOINT",
                "a stream runtime needs a checkpoint location, unique to this pipeline",
                (),
                "no checkpoint",
                "a path or URI",
                "checkpoint: ../demo-output/_checkpoints/demo",
            )


class BatchRuntime(ConfigModel):
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


class Runtime(ConfigModel):
    """How the pipeline runs: as a stream, as batch/backfill, or both."""

    stream: StreamRuntime | None = Field(default=None, description="Streaming settings.")
    batch: BatchRuntime | None = Field(default=None, description="Batch and backfill settings.")

    def check(self, faults: Faults) -> None:
        if self.stream is None and self.batch is None:
            faults.add(
                "NO_RUNTIME",
                "runtime declares neither stream nor batch",
                (),
                "{}",
                "runtime.stream and/or runtime.batch",
                "runtime: {batch: {source: archive, date_column: event_date}}",
            )
