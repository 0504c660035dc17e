"""Replay: after the executor that raised on ``boom`` is fixed, replaying its dead letters
moves that event into the sink exactly once and marks the dead letter; events that still fail
stay unmarked; nothing is deleted; a second replay changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.corpus import GOOD, TRUNCATED, event, js
from support.deadletters import load, registry, write_archive, write_pipeline
from typer.testing import CliRunner

from spark_enrich import Pipeline
from spark_enrich import replay as replay_module
from spark_enrich.cli.app import app
from spark_enrich.replay import ReplayReport

BOOM = js(event("boom-1", pin_id="boom"))
OVERFLOW = js(event("overflow-1", dwell_ms=99_999_999_999))
UNROUTED = js(event("route-1", event_type="pin_share"))
BOT = js(event("bot-1", pin_id="bot"))
PAYLOADS = [GOOD, BOOM, OVERFLOW, TRUNCATED, UNROUTED, BOT]
LETTER_COLUMNS = ["dead_letter_id", "reason", "executor", "executor_version", "raw_payload"]


@dataclass
class Story:
    """The dead letters and sink after each step of: run, replay broken, fix, replay twice."""

    letters_after_run: DataFrame
    sink_after_run: DataFrame
    still_broken: ReplayReport
    letters_after_still_broken: DataFrame
    fixed: ReplayReport
    letters_after_fix: DataFrame
    sink_after_fix: DataFrame
    again: ReplayReport
    since_tomorrow: ReplayReport
    everything: ReplayReport
    letters_after_everything: DataFrame
    sink_after_everything: DataFrame


def _snapshot(frame: DataFrame) -> DataFrame:
    return frame.localCheckpoint()


@pytest.fixture(scope="module")
def story(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Story:
    folder = tmp_path_factory.mktemp("replay")
    write_archive(spark, folder, PAYLOADS)
    path = write_pipeline(folder)
    broken = load(path, spark)
    broken.run_batch()
    letters_after_run = _snapshot(broken.dead_letters())
    sink_after_run = _snapshot(broken.output())

    still_broken = broken.replay(reason="executor_error")
    letters_after_still_broken = _snapshot(broken.dead_letters())

    fixed_pipeline = load(path, spark, fixed=True)
    fixed = fixed_pipeline.replay(reason="executor_error")
    letters_after_fix = _snapshot(fixed_pipeline.dead_letters())
    sink_after_fix = _snapshot(fixed_pipeline.output())
    again = fixed_pipeline.replay(reason="executor_error")
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    since_tomorrow = fixed_pipeline.replay(since=tomorrow)
    everything = fixed_pipeline.replay()
    return Story(
        letters_after_run, sink_after_run, still_broken, letters_after_still_broken,
        fixed, letters_after_fix, sink_after_fix, again, since_tomorrow, everything,
        _snapshot(fixed_pipeline.dead_letters()), _snapshot(fixed_pipeline.output()),
    )  # fmt: skip


def test_the_run_dead_letters_the_boom_event_as_an_executor_error(story: Story) -> None:
    boom = story.letters_after_run.where(F.col("raw_payload") == F.lit(BOOM))
    assert [tuple(r) for r in boom.select("reason", "executor", "executor_version").collect()] == [
        ("executor_error", "clicks", "1.0")
    ]
    assert story.letters_after_run.count() == 4  # boom, overflow, truncated, unrouted
    assert story.sink_after_run.where(F.col("event_id") == "boom-1").count() == 0


def test_replay_with_the_executor_still_broken_marks_nothing(story: Story) -> None:
    report = story.still_broken
    assert (report.selected, report.events, report.replayed, report.failed_again) == (1, 1, 0, 1)
    assert report.batch is not None and report.batch.dead_lettered == 1
    assert_df_equality(
        story.letters_after_still_broken, story.letters_after_run, ignore_row_order=True
    )


def test_replay_after_the_fix_moves_the_event_into_the_sink_once(
    spark: SparkSession, story: Story
) -> None:
    report = story.fixed
    assert (report.selected, report.events, report.replayed, report.failed_again) == (1, 1, 1, 0)
    assert report.batch is not None and report.batch.sink_rows_added == 1
    boom = story.sink_after_fix.where(F.col("event_id") == "boom-1")
    expected = spark.createDataFrame(
        [("boom-1", "boom", 1200, "clicks", "1.1", report.replay_run_id)],
        "event_id STRING, pin_id STRING, dwell INT, _executor STRING, _executor_version STRING, "
        "_run_id STRING",
    )
    assert_df_equality(
        boom.select("event_id", "pin_id", "dwell", "_executor", "_executor_version", "_run_id"),
        expected,
        ignore_nullable=True,
    )
    before = story.sink_after_run.select("event_id")
    after = story.sink_after_fix.where(F.col("event_id") != "boom-1").select("event_id")
    assert_df_equality(after, before, ignore_row_order=True)


def test_replay_marks_the_dead_letter_and_deletes_nothing(story: Story) -> None:
    letters = story.letters_after_fix
    assert_df_equality(
        letters.select(*LETTER_COLUMNS),
        story.letters_after_run.select(*LETTER_COLUMNS),
        ignore_row_order=True,
    )
    marked = letters.where(F.col("replayed_at").isNotNull())
    assert [(bytes(r["raw_payload"]), r["replay_run_id"]) for r in marked.collect()] == [
        (BOOM, story.fixed.replay_run_id)
    ]


def test_a_second_replay_selects_and_changes_nothing(story: Story) -> None:
    assert (story.again.selected, story.again.batch) == (0, None)
    assert (story.since_tomorrow.selected, story.since_tomorrow.batch) == (0, None)


def test_events_that_fail_again_stay_unmarked_without_new_rows(story: Story) -> None:
    report = story.everything
    # overflow (contract violation), truncated (decode error), unrouted: all fail again.
    assert (report.selected, report.replayed, report.failed_again) == (3, 0, 3)
    assert report.batch is not None and report.batch.sink_rows_added == 0
    assert_df_equality(
        story.letters_after_everything, story.letters_after_fix, ignore_row_order=True
    )
    assert_df_equality(story.sink_after_everything, story.sink_after_fix, ignore_row_order=True)


def test_cli_replay_rejects_an_unknown_reason_and_a_bad_time(tmp_path: Path) -> None:
    pipeline = str(write_pipeline(tmp_path))
    runner = CliRunner()
    bad_reason = runner.invoke(app, ["replay", pipeline, "--reason", "gremlins"])
    assert bad_reason.exit_code == 64  # a usage error (EX_USAGE), not an invalid config (2)
    assert "executor_error" in bad_reason.output
    bad_time = runner.invoke(app, ["replay", pipeline, "--since", "last tuesday"])
    assert bad_time.exit_code == 64
    assert "--since" in bad_time.output


def test_a_replay_stopped_before_marking_adds_no_event_twice_to_an_append_sink(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The window between the sink commit and the marking commit: the next replay selects the
    # same dead letters again, and an append sink must not receive their events a second time.
    write_archive(spark, tmp_path, PAYLOADS)
    path = write_pipeline(tmp_path)
    append = ["sink.mode=append"]
    Pipeline.from_yaml(path, spark=spark, registry=registry(), overrides=append).run_batch()
    fixed = Pipeline.from_yaml(path, spark=spark, registry=registry(fixed=True), overrides=append)

    def crash(*args: object) -> None:
        raise RuntimeError("the driver died before marking")

    with monkeypatch.context() as patched:
        patched.setattr(replay_module, "_mark", crash)
        with pytest.raises(RuntimeError, match="before marking"):
            fixed.replay(reason="executor_error")
    assert fixed.output().where(F.col("event_id") == "boom-1").count() == 1

    resumed = fixed.replay(reason="executor_error")
    assert (resumed.selected, resumed.replayed) == (1, 1)
    assert resumed.batch is not None and resumed.batch.sink_rows_added == 0
    ids = fixed.output().groupBy("event_id").count()
    assert ids.where(F.col("count") > 1).collect() == []
    assert ids.where(F.col("event_id") == "boom-1").count() == 1
    marked = fixed.dead_letters().where(F.col("replayed_at").isNotNull())
    assert [r["replay_run_id"] for r in marked.collect()] == [resumed.replay_run_id]
