"""Dead-letter ids: one per bad table row even when the same bad payload comes back in a later
batch, and the same id when the same rows are processed again."""

from __future__ import annotations

from pathlib import Path

from corpus import GOOD
from deadletter_kit import load, write_archive, write_pipeline
from pyspark.sql import SparkSession

from spark_enrich.process import process_batch
from spark_enrich.sources import read_batch

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
    source = pipeline.config.source("archive")
    again = process_batch(pipeline.plan, read_batch(spark, source), batch_id=99, txn=None)
    assert (again.dead_lettered, again.dead_letters_written) == (2, 0)
    assert pipeline.dead_letters().count() == 2
