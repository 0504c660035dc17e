"""Limits and the accounting check: the payload size limit counts bytes, the dead-letter share
threshold (off by default) fails a batch after writing its dead letters, and an executor that
multiplies rows is reported as an accounting violation with the numbers."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from support.corpus import event, js, sized
from support.deadletters import envelope, load, write_pipeline

from spark_enrich.errors import PipelineRunError
from spark_enrich.policy import DryRun
from spark_enrich.process import process_batch

GOOD = js(event("good-1"))
VIEWS = [js(event("view-1", event_type="pin_view")), js(event("view-2", event_type="pin_view"))]
BAD = [b"", b"{", js(event("late", event_time="1970-01-01T00:00:00Z"))]


def test_payload_limit_counts_bytes_not_characters(spark: SparkSession, tmp_path: Path) -> None:
    pipeline = load(write_pipeline(tmp_path, decoding={"max_payload_bytes": 200}), spark)
    at_limit = sized("e", 200)
    # Still 200 characters, but 201 bytes: "é" is two bytes in UTF-8.
    over = at_limit.replace(b'"e"', '"é"'.encode())
    assert (len(over), len(over.decode())) == (201, 200)
    batch = envelope(spark, [at_limit, over])
    report = process_batch(pipeline.plan, batch, batch_id=0, policy=DryRun())
    assert report.decode_dead_lettered == {"payload_too_large": 1}
    assert report.output == 1


def test_dead_letter_threshold_is_off_by_default(tmp_path: Path, spark: SparkSession) -> None:
    pipeline = load(write_pipeline(tmp_path), spark)
    assert pipeline.config.dead_letters.max_share is None


def test_dead_letter_share_above_the_threshold_fails_after_writing_dead_letters(
    spark: SparkSession, tmp_path: Path
) -> None:
    pipeline = load(write_pipeline(tmp_path, dead_letters={"max_share": 0.5}), spark)
    with pytest.raises(PipelineRunError) as failure:
        process_batch(pipeline.plan, envelope(spark, [GOOD, *BAD]), batch_id=0)
    assert failure.value.error_class == "DEAD_LETTER_THRESHOLD"
    assert failure.value.message_parameters["share"] == 0.75
    assert pipeline.dead_letters().count() == 3
    assert not (tmp_path / "out").exists()


def test_dead_letter_share_at_the_threshold_passes(spark: SparkSession, tmp_path: Path) -> None:
    pipeline = load(write_pipeline(tmp_path, dead_letters={"max_share": 0.75}), spark)
    report = process_batch(pipeline.plan, envelope(spark, [GOOD, *BAD]), batch_id=0)
    assert (report.dead_letters_written, report.sink_rows_added) == (3, 1)


def test_an_executor_multiplying_rows_is_logged_as_an_accounting_violation(
    spark: SparkSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = load(write_pipeline(tmp_path), spark, duplicating=True)
    with caplog.at_level(logging.ERROR, logger="spark_enrich.accounting"):
        batch = envelope(spark, [GOOD, *VIEWS])
        report = process_batch(pipeline.plan, batch, batch_id=7, policy=DryRun())
    violation = "executor views: input 2 != output 4 + filtered 0 + dead_lettered 0"
    assert report.violations() == [violation]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [f"accounting violation in hostile batch 7: {violation}"]


def _around_the_bounds() -> list[bytes]:
    """Events just inside and just outside the default bounds."""
    ahead = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        js(event("y2k", event_time="2000-01-01T00:00:00Z")),
        js(event("y1999", event_time="1999-12-31T23:59:59Z")),
        js(event("y1970", event_time="1970-01-01T00:00:00Z")),
        js(event("ahead", event_time=ahead)),
    ]


@pytest.mark.parametrize(
    ("decoding", "kept", "message"),
    [
        ({}, {"y2k"}, "[2000-01-01T00:00:00Z, now + 1d]"),
        ({"event_time_min": "1999-12-31T23:59:59Z"}, {"y2k", "y1999"}, None),
        ({"event_time_min": "1970-01-01"}, {"y2k", "y1999", "y1970"}, None),
        ({"event_time_max_ahead": "3d"}, {"y2k", "ahead"}, "[2000-01-01T00:00:00Z, now + 3d]"),
        ({"event_time_min": None, "event_time_max_ahead": None}, None, None),
    ],
)
def test_event_time_bounds_follow_the_configuration(
    spark: SparkSession,
    tmp_path: Path,
    decoding: dict[str, str | None],
    kept: set[str] | None,
    message: str | None,
) -> None:
    payloads = _around_the_bounds()
    everything = {"y2k", "y1999", "y1970", "ahead"}
    kept = everything if kept is None else kept
    pipeline = load(write_pipeline(tmp_path, decoding=decoding), spark)
    process_batch(pipeline.plan, envelope(spark, payloads), batch_id=0)
    output = {r["event_id"] for r in pipeline.output().select("event_id").collect()}
    # The dead-letter table is only created by a batch that has dead letters.
    wrote_letters = (tmp_path / "dead").exists()
    letters = (
        pipeline.dead_letters().select("reason", "message", "raw_payload").collect()
        if wrote_letters
        else []
    )
    assert output == kept
    # Every event outside the bounds is a dead letter with its payload; nothing is lost.
    by_id = {json.loads(bytes(r["raw_payload"]))["event_id"]: r for r in letters}
    assert set(by_id) == everything - kept
    assert {r["reason"] for r in letters} <= {"schema_mismatch"}
    if message is not None:
        first = by_id[sorted(by_id)[0]]
        assert first["message"].endswith(f"is outside the accepted range {message}")
