"""The determinism check catches executors whose output depends on the clock, on random draws,
on how events were split into micro-batches or on row order, and names the column; a
deterministic executor (stages, offline-table join) passes."""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_enrich import EnrichContext, Executor, TableSpec, executor
from spark_enrich.registry import ExecutorRegistry
from spark_enrich.testing.determinism import assert_deterministic, check_executor

# Kept out of the default registry: these executors exist only to be caught.
DRIFTING = ExecutorRegistry()
TYPES = ["pin_click"]


@executor(name="clock", version="1", event_types=TYPES, registry=DRIFTING)
class Clock(Executor):
    """Stamps each event with the time it was processed."""

    def featurise(self, df: DataFrame) -> DataFrame:
        return df.withColumn("seen_at", F.current_timestamp())


@executor(name="dice", version="1", event_types=TYPES, registry=DRIFTING)
class Dice(Executor):
    """Samples events with rand() and gives each a uuid()."""

    def featurise(self, df: DataFrame) -> DataFrame:
        return df.withColumns({"token": F.uuid(), "lucky": F.rand() < 0.5})


@executor(name="batch_share", version="1", event_types=TYPES, registry=DRIFTING)
class BatchShare(Executor):
    """Divides by the number of events in the batch: a count over the whole batch."""

    def featurise(self, df: DataFrame) -> DataFrame:
        return df.withColumn("batch_events", F.count(F.lit(1)).over(Window.partitionBy()))


@executor(name="first_seen", version="1", event_types=TYPES, registry=DRIFTING)
class FirstSeen(Executor):
    """The user's first surface, by first() over the user's events without an order."""

    def featurise(self, df: DataFrame) -> DataFrame:
        users = Window.partitionBy("user_id")
        return df.withColumn("first_surface", F.first("surface").over(users))


@executor(name="steady", version="1", event_types=TYPES, tables=["users"], registry=DRIFTING)
class Steady(Executor):
    """Deterministic: a filter, features of the event itself, a keyed join."""

    def filter(self, df: DataFrame) -> DataFrame:
        return df.where(F.col("surface") != "bot")

    def featurise(self, df: DataFrame) -> DataFrame:
        # No window over the user's events: which of them share a micro-batch varies.
        return df.withColumns(
            {"hour": F.hour("event_time"), "digest": F.sha2(F.col("event_id"), 256)}
        )

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        return ctx.join("users", df)


@pytest.fixture(scope="module")
def sample(spark: SparkSession) -> DataFrame:
    surfaces = ["home", "search", "board", "bot"]
    rows = [
        (f"e{i:03d}", "pin_click", f"u{i % 5}", f"2026-01-0{1 + i % 3} 1{i % 10}:00:00",
         surfaces[(i * 7) % 4])
        for i in range(60)
    ]  # fmt: skip
    frame = spark.createDataFrame(
        rows, "event_id STRING, event_type STRING, user_id STRING, event_time STRING, "
        "surface STRING"
    )  # fmt: skip
    return frame.withColumn("event_time", F.to_timestamp("event_time"))


@pytest.fixture(scope="module")
def users(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [(f"u{i}", f"c{i}") for i in range(4)], "user_id STRING, country STRING"
    )


@pytest.mark.parametrize(
    ("cls", "column", "arrangement"),
    [
        (Clock, "seen_at", "1 s later"),
        (Dice, "token", "reversed row order"),
        (BatchShare, "batch_events", "micro-batches"),
        (FirstSeen, "first_surface", "reversed row order"),
    ],
)
def test_a_drifting_executor_is_caught_with_its_column(
    sample: DataFrame, cls: type[Executor], column: str, arrangement: str
) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_deterministic(cls, sample)
    message = str(caught.value)
    name = cls.spec.name
    assert f"executor {name!r}: column {column!r} differs in" in message, message
    assert arrangement in message, message
    assert "sample row" in message  # example rows, field by field


def test_dice_is_caught_on_both_random_columns(sample: DataFrame) -> None:
    report = check_executor(Dice, sample)
    assert not report.deterministic
    assert {c for d in report.drifts for c in d.columns} == {"token", "lucky"}


def test_batch_dependence_is_caught_only_where_batches_differ(sample: DataFrame) -> None:
    report = check_executor(BatchShare, sample)
    assert [d.arrangement for d in report.drifts] == ["micro-batches of 1, 3, 8, 21, 55... rows"]
    assert report.drifts[0].report.fields["batch_events"].count == 60


@executor(name="nth_event", version="1", event_types=TYPES, registry=DRIFTING)
class NthEvent(Executor):
    """Numbers each user's events in time order: an ordered window, yet over the batch only."""

    def featurise(self, df: DataFrame) -> DataFrame:
        ordered = Window.partitionBy("user_id").orderBy("event_time", "event_id")
        return df.withColumn("nth_of_user", F.row_number().over(ordered))


def test_an_ordered_window_over_the_batch_is_caught(sample: DataFrame) -> None:
    report = check_executor(NthEvent, sample)
    assert [(d.arrangement, d.columns) for d in report.drifts] == [
        ("micro-batches of 1, 3, 8, 21, 55... rows", ["nth_of_user"])
    ]


def test_a_deterministic_executor_passes(sample: DataFrame, users: DataFrame) -> None:
    report = check_executor(
        Steady, sample, tables={"users": users}, specs={"users": TableSpec(keys=("user_id",))}
    )
    assert report.deterministic, "\n".join(report.render())
    assert report.rows == 60
    assert report.output_rows == 45  # the 15 bot events are filtered
    assert report.render() == [
        "executor steady 1: 60 sample rows, 45 output rows, 4 arrangements: deterministic"
    ]
