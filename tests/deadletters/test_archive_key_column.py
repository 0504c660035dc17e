"""A Delta/files source's ``key_column``: the record key an archive kept reaches dead letters as
``kafka_key``, in a batch run and in a stream of the table alike, as a Kafka record's key does."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from support.corpus import GOOD, TRUNCATED, event, js, without
from support.deadletters import registry, write_pipeline

from spark_enrich import Pipeline
from spark_enrich.errors import PipelineRunError
from spark_enrich.sources import table_envelope

# (key, payload, the dead-letter reason it must get, or None for a row that reaches the sink):
# one row per stage that dead-letters (decode, executor, conform), a null key, a non-ASCII key.
ROWS: list[tuple[str | None, bytes, str | None]] = [
    ("u-1", GOOD, None),
    ("u-2", TRUNCATED, "decode_error"),
    (None, without("no-user", "user_id"), "missing_required"),
    ("ü-4", js(event("type-1", dwell_ms="abc")), "schema_mismatch"),
    ("u-5", js(event("boom-1", pin_id="boom")), "executor_error"),
    ("u-6", js(event("overflow-1", dwell_ms=99_999_999_999)), "contract_violation"),
]
LETTER_SCHEMA = "reason STRING, raw_payload BINARY, kafka_key BINARY"


def _write_keyed_archive(spark: SparkSession, folder: Path) -> None:
    rows = [(key, bytearray(payload)) for key, payload, _ in ROWS]
    frame = spark.createDataFrame(rows, "key STRING, value BINARY").coalesce(1)
    frame.write.format("delta").mode("overwrite").save(str(folder / "raw"))


def _expected_letters(spark: SparkSession) -> DataFrame:
    # A Kafka producer sending the text key sends its UTF-8 bytes; a null key stays null.
    rows = [
        (reason, bytearray(payload), bytearray(key.encode("utf-8")) if key is not None else None)
        for key, payload, reason in ROWS
        if reason is not None
    ]
    return spark.createDataFrame(rows, LETTER_SCHEMA)


def _keyed_pipeline(spark: SparkSession, folder: Path, sets: Sequence[str] = ()) -> Pipeline:
    path = write_pipeline(folder)
    return Pipeline.from_yaml(
        path,
        spark=spark,
        registry=registry(),
        overrides=["sources.archive.key_column=key", *sets],
    )


def _letters(pipeline: Pipeline) -> DataFrame:
    return pipeline.dead_letters().select("reason", "raw_payload", "kafka_key")


def test_batch_dead_letters_carry_the_archive_key(spark: SparkSession, tmp_path: Path) -> None:
    _write_keyed_archive(spark, tmp_path)
    pipeline = _keyed_pipeline(spark, tmp_path)
    (report,) = pipeline.run_batch().batches
    assert report.dead_letters_written == len([r for r in ROWS if r[2] is not None])
    assert_df_equality(
        _letters(pipeline), _expected_letters(spark), ignore_row_order=True, ignore_nullable=True
    )


def test_a_stream_of_the_archive_carries_the_same_keys(spark: SparkSession, tmp_path: Path) -> None:
    _write_keyed_archive(spark, tmp_path)
    pipeline = _keyed_pipeline(spark, tmp_path)
    pipeline.run_stream(source="archive", available_now=True)
    assert_df_equality(
        _letters(pipeline), _expected_letters(spark), ignore_row_order=True, ignore_nullable=True
    )


def test_a_binary_key_is_carried_byte_for_byte_and_other_types_as_their_text(
    spark: SparkSession,
) -> None:
    frame = spark.createDataFrame(
        [(bytearray(b"\xff\x00k"), 42, "{}")], "BinKey BINARY, num_key BIGINT, value STRING"
    )

    def key_of(column: str) -> bytes:
        envelope = table_envelope(
            frame,
            source_name="archive",
            kind="delta",
            table="memory",
            payload_column="value",
            key_column=column,
        )
        (row,) = envelope.select("_se_meta.kafka_key").collect()
        return bytes(row[0])

    # Spark resolves column names in any case; so does key_column.
    assert key_of("binkey") == b"\xff\x00k"
    assert key_of("num_key") == b"42"


def test_a_key_column_the_source_lacks_fails_naming_its_columns(
    spark: SparkSession, tmp_path: Path
) -> None:
    _write_keyed_archive(spark, tmp_path)
    pipeline = _keyed_pipeline(spark, tmp_path, ["sources.archive.key_column=user_key"])
    with pytest.raises(PipelineRunError) as caught:
        pipeline.plan.source("archive").read_batch(spark)
    assert caught.value.error_class == "SOURCE_COLUMN_MISSING"
    assert "'user_key' is not a column of the source; its columns are key, value" in str(
        caught.value
    )
