"""Dead-letter ids: one per bad table row even when the same bad payload comes back in a later
batch (read as a batch or as a stream) or twice in one file, and the same id when the same rows
are processed again; a retried batch stores the dead letters its first attempt did not have and
drops those its first attempt had and it does not — unless the sink already holds the batch."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from support.corpus import GOOD, event, js
from support.deadletters import load, write_archive, write_pipeline

from spark_enrich import Pipeline
from spark_enrich.delta_commit import Txn
from spark_enrich.errors import PipelineRunError
from spark_enrich.process import process_batch

TRUNCATED = b'{"event_id": "t-1", "event_type'


def _append(spark: SparkSession, folder: Path, payload: bytes) -> None:
    frame = spark.createDataFrame([(bytearray(payload),)], "value BINARY").coalesce(1)
    frame.write.format("delta").mode("append").save(str(folder / "raw"))


def test_the_same_bad_payload_in_a_later_file_is_its_own_dead_letter(
    spark: SparkSession, tmp_path: Path
) -> None:
    pipeline = load(write_pipeline(tmp_path), spark)
    write_archive(spark, tmp_path, [GOOD, TRUNCATED])
    pipeline.run_batch()
    # The next day's file holds the very same bytes: a second bad event, not a re-run.
    _append(spark, tmp_path, TRUNCATED)
    (second,) = pipeline.run_batch().batches
    assert second.dead_lettered == 2  # the run reads the whole table: both files
    assert second.dead_letters_written == 1  # the first file's row is known by its id

    letters = pipeline.dead_letters().select("dead_letter_id", "raw_payload", "source.file")
    rows = letters.collect()
    assert [bytes(r["raw_payload"]) for r in rows] == [TRUNCATED, TRUNCATED]
    assert len({r["dead_letter_id"] for r in rows}) == 2
    assert len({r["file"] for r in rows}) == 2

    # The same rows processed again (a new batch id, no transaction to skip it): no new letter.
    source = pipeline.plan.source("archive")
    again = process_batch(pipeline.plan, source.read_batch(spark), batch_id=99, txn=None)
    assert (again.dead_lettered, again.dead_letters_written) == (2, 0)
    assert pipeline.dead_letters().count() == 2


def test_a_stream_of_the_table_gives_the_same_bad_payload_in_a_later_file_its_own_id(
    spark: SparkSession, tmp_path: Path
) -> None:
    pipeline = load(write_pipeline(tmp_path), spark)
    write_archive(spark, tmp_path, [GOOD, TRUNCATED])
    _append(spark, tmp_path, TRUNCATED)

    report = pipeline.run_stream(source="archive", available_now=True)
    assert (report.total("dead_lettered"), report.total("dead_letters_written")) == (2, 2)
    rows = pipeline.dead_letters().select("dead_letter_id", "source.file").collect()
    assert len({r["dead_letter_id"] for r in rows}) == 2
    assert all(r["file"] and r["file"].endswith(".parquet") for r in rows)

    # A batch run over the same files finds the stream's ids: the same rows, no new letter.
    (batch,) = pipeline.run_batch().batches
    assert (batch.dead_lettered, batch.dead_letters_written) == (2, 0)
    assert pipeline.dead_letters().count() == 2


def test_a_retried_batch_stores_the_dead_letters_its_first_attempt_did_not_have(
    spark: SparkSession, tmp_path: Path
) -> None:
    boom = js(event("boom-1", pin_id="boom"))
    write_archive(spark, tmp_path, [GOOD, TRUNCATED, boom])
    txn = Txn("spark-enrich:hostile:retry", 7)
    # First attempt: the fixed executor; one dead letter in three trips the threshold after
    # the dead letters are written, before the sink.
    first = load(write_pipeline(tmp_path, dead_letters={"max_share": 0.3}), spark, fixed=True)
    source = first.plan.source("archive")
    with pytest.raises(PipelineRunError, match="DEAD_LETTER_THRESHOLD"):
        process_batch(first.plan, source.read_batch(spark), batch_id=7, txn=txn)
    assert first.dead_letters().count() == 1

    # The batch resumed under the same transaction id, with another executor version deployed
    # that fails on a row the first attempt did not fail on.
    second = load(write_pipeline(tmp_path), spark, fixed=False)
    report = process_batch(second.plan, source.read_batch(spark), batch_id=7, txn=txn)
    assert report.dead_letters_written == 1
    reasons = {r["reason"] for r in second.dead_letters().select("reason").collect()}
    assert reasons == {"decode_error", "executor_error"}
    assert [r["event_id"] for r in second.output().select("event_id").collect()] == ["ok-1"]


def test_identical_bad_payloads_in_one_file_are_two_dead_letters_with_distinct_ids(
    spark: SparkSession, tmp_path: Path
) -> None:
    pipeline = load(write_pipeline(tmp_path), spark)
    write_archive(spark, tmp_path, [TRUNCATED, GOOD, TRUNCATED])  # one data file
    files = spark.read.format("delta").load(str(tmp_path / "raw")).inputFiles()
    assert len(files) == 1

    (first,) = pipeline.run_batch().batches
    assert (first.dead_lettered, first.dead_letters_written) == (2, 2)
    rows = pipeline.dead_letters().select("dead_letter_id", "raw_payload", "source.file").collect()
    assert [bytes(r["raw_payload"]) for r in rows] == [TRUNCATED, TRUNCATED]
    assert len({r["dead_letter_id"] for r in rows}) == 2

    # The same file processed again, as a batch and as a stream: the same two ids, nothing new.
    source = pipeline.plan.source("archive")
    again = process_batch(pipeline.plan, source.read_batch(spark), batch_id=99, txn=None)
    assert (again.dead_lettered, again.dead_letters_written) == (2, 0)
    stream = pipeline.run_stream(source="archive", available_now=True)
    assert (stream.total("dead_lettered"), stream.total("dead_letters_written")) == (2, 0)
    ids = [r["dead_letter_id"] for r in pipeline.dead_letters().collect()]
    assert sorted(ids) == sorted(r["dead_letter_id"] for r in rows)


def _reasons(pipeline: Pipeline) -> dict[str, str]:
    letters = pipeline.dead_letters().select("raw_payload", "reason").collect()
    return {bytes(r["raw_payload"]).decode(): r["reason"] for r in letters}


def _sink_ids(pipeline: Pipeline) -> list[str]:
    return sorted(r["event_id"] for r in pipeline.output().select("event_id").collect())


BOOM = js(event("boom-1", pin_id="boom"))


def test_a_retried_batch_replaces_the_dead_letters_of_its_first_attempt(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_archive(spark, tmp_path, [GOOD, TRUNCATED, BOOM])
    txn = Txn("spark-enrich:hostile:retry", 7)
    # First attempt: "boom" fails; the threshold stops the batch after its dead-letter commit,
    # before its sink commit — where a crash could stop it too.
    first = load(write_pipeline(tmp_path, dead_letters={"max_share": 0.3}), spark)
    source = first.plan.source("archive")
    with pytest.raises(PipelineRunError, match="DEAD_LETTER_THRESHOLD"):
        process_batch(first.plan, source.read_batch(spark), batch_id=7, txn=txn)
    assert set(_reasons(first).values()) == {"decode_error", "executor_error"}

    # The retry (the fixed executor deployed, or a service answering now) succeeds on "boom":
    # it is in the sink, and no longer a dead letter.
    second = load(write_pipeline(tmp_path), spark, fixed=True)
    report = process_batch(second.plan, source.read_batch(spark), batch_id=7, txn=txn)
    assert report.dead_letters_written == 0  # the truncated row's letter is there already
    assert _reasons(second) == {TRUNCATED.decode(): "decode_error"}
    assert _sink_ids(second) == ["boom-1", "ok-1"]
    txns = second.dead_letters().select("txn_app_id", "txn_version").distinct().collect()
    assert [tuple(r) for r in txns] == [(txn.app_id, 7)]


def test_a_retry_without_dead_letters_removes_those_of_its_first_attempt(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_archive(spark, tmp_path, [GOOD, BOOM])
    txn = Txn("spark-enrich:hostile:retry", 3)
    first = load(write_pipeline(tmp_path, dead_letters={"max_share": 0.3}), spark)
    source = first.plan.source("archive")
    with pytest.raises(PipelineRunError, match="DEAD_LETTER_THRESHOLD"):
        process_batch(first.plan, source.read_batch(spark), batch_id=3, txn=txn)
    assert first.dead_letters().count() == 1

    second = load(write_pipeline(tmp_path), spark, fixed=True)
    report = process_batch(second.plan, source.read_batch(spark), batch_id=3, txn=txn)
    assert report.dead_lettered == 0
    assert second.dead_letters().count() == 0
    assert _sink_ids(second) == ["boom-1", "ok-1"]


def test_a_replayed_batch_already_in_the_sink_changes_neither_table(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_archive(spark, tmp_path, [GOOD, TRUNCATED, BOOM])
    txn = Txn("spark-enrich:hostile:replayed", 4)
    first = load(write_pipeline(tmp_path), spark, fixed=True)
    source = first.plan.source("archive")
    process_batch(first.plan, source.read_batch(spark), batch_id=4, txn=txn)
    # Killed after the sink commit, before the checkpoint's: the batch runs again, and this
    # time "boom" fails (another executor version deployed, a service failing now).
    second = load(write_pipeline(tmp_path), spark, fixed=False)
    report = process_batch(second.plan, source.read_batch(spark), batch_id=4, txn=txn)
    assert report.dead_lettered == 2
    assert (report.dead_letters_written, report.sink_rows_added) == (0, 0)
    assert _reasons(second) == {TRUNCATED.decode(): "decode_error"}
    assert _sink_ids(second) == ["boom-1", "ok-1"]


def test_a_dead_letter_table_written_before_the_transaction_columns_gets_them(
    spark: SparkSession, tmp_path: Path
) -> None:
    from pyspark.sql.types import StructType

    from spark_enrich.columns import DEAD_LETTER_DDL
    from spark_enrich.decode import parse_schema

    older = StructType(
        [f for f in parse_schema(DEAD_LETTER_DDL) if f.name not in ("txn_app_id", "txn_version")]
    )
    spark.createDataFrame([], older).write.format("delta").save(str(tmp_path / "dead"))
    pipeline = load(write_pipeline(tmp_path), spark)
    write_archive(spark, tmp_path, [GOOD, TRUNCATED])
    (report,) = pipeline.run_batch().batches
    assert report.dead_letters_written == 1
    letters = pipeline.dead_letters()
    assert letters.columns == [*older.fieldNames(), "txn_app_id", "txn_version"]
    assert [r["reason"] for r in letters.collect()] == ["decode_error"]
