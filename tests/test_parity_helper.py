"""spark_enrich.testing.parity: engine metadata is ignored, business columns are not; dead
letters compare by what went wrong and to which payload."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_enrich.columns import DEAD_LETTER_DDL
from spark_enrich.decode import parse_schema
from spark_enrich.testing.parity import (
    assert_dead_letter_parity,
    assert_parity,
    business_columns,
)


def test_metadata_columns_are_ignored(spark: SparkSession) -> None:
    a = spark.createDataFrame([("e1", 1, "run-a")], "event_id STRING, n INT, _run_id STRING")
    b = spark.createDataFrame([("e1", 1, "run-b")], "event_id STRING, n INT, _run_id STRING")
    assert business_columns(a).columns == ["event_id", "n"]
    assert_parity(a, b)


def test_a_different_business_value_fails(spark: SparkSession) -> None:
    a = spark.createDataFrame([("e1", 1)], "event_id STRING, n INT")
    b = spark.createDataFrame([("e1", 2)], "event_id STRING, n INT")
    with pytest.raises(AssertionError):
        assert_parity(a, b)


def _letters(spark: SparkSession, rows: Sequence[tuple[Any, ...]]) -> DataFrame:
    """Dead-letter rows of the real table schema from ``(id, reason, message, executor, raw,
    source kind, run id, dead-lettered at)``."""
    ddl = parse_schema(DEAD_LETTER_DDL)
    frame = spark.createDataFrame(
        [(*row[:4], bytearray(row[4]), *row[5:]) for row in rows],
        "id STRING, reason STRING, message STRING, executor STRING, raw BINARY, kind STRING, "
        "run STRING, at TIMESTAMP",
    )
    return frame.select(
        F.col("id").alias("dead_letter_id"),
        "reason",
        "message",
        F.lit("p").alias("pipeline"),
        "executor",
        F.when(F.col("executor").isNotNull(), F.lit("1.0")).alias("executor_version"),
        F.lit("pin_click").alias("event_type"),
        F.col("raw").alias("raw_payload"),
        F.lit(None).cast("binary").alias("kafka_key"),
        F.lit(None).cast(ddl["kafka_headers"].dataType).alias("kafka_headers"),
        F.struct(F.col("kind").alias("kind"), F.col("id").alias("topic")).alias("source"),
        F.col("at").alias("dead_lettered_at"),
        F.col("run").alias("run_id"),
        F.lit(None).cast("timestamp").alias("replayed_at"),
        F.lit(None).cast("string").alias("replay_run_id"),
    )


T1, T2 = datetime(2026, 1, 5, 10), datetime(2026, 1, 6, 11)
BATCH = [
    ("id-a", "decode_error", "payload is not valid JSON: {", None, b"{", "delta", "r1", T1),
    ("id-b", "executor_error", "boom at 0x1f", "clicks", b'{"x": 1}', "delta", "r1", T1),
    ("id-c", "decode_error", "payload is not valid JSON: {", None, b"{", "delta", "r1", T1),
]
STREAM = [
    ("k-1", "decode_error", "payload is not valid JSON: {", None, b"{", "kafka", "r2", T2),
    ("k-2", "executor_error", "boom at 0x2e", "clicks", b'{"x": 1}', "kafka", "r2", T2),
    ("k-3", "decode_error", "payload is not valid JSON: {", None, b"{", "kafka", "r2", T2),
]


def test_dead_letters_of_two_runtimes_compare_equal(spark: SparkSession) -> None:
    batch, stream = _letters(spark, BATCH), _letters(spark, STREAM)
    # Ids, times, run ids and source coordinates differ: plain parity cannot compare them.
    with pytest.raises(AssertionError):
        assert_parity(batch, stream)
    assert_dead_letter_parity(batch, stream)


def test_a_missing_dead_letter_fails_with_a_readable_list(spark: SparkSession) -> None:
    with pytest.raises(AssertionError) as failure:
        assert_dead_letter_parity(_letters(spark, BATCH), _letters(spark, STREAM[:2]))
    assert str(failure.value).splitlines() == [
        "dead letters differ (compared: reason, executor, executor_version, event_type, "
        "raw_payload)",
        "  only in left: 1",
        "    reason=decode_error, executor=None, executor_version=None, event_type=pin_click, "
        "raw_payload=b'{'",
        "  only in right: 0",
    ]


def test_another_payload_or_reason_fails(spark: SparkSession) -> None:
    other_payload = [(*STREAM[0][:4], b"}", *STREAM[0][5:]), *STREAM[1:]]
    other_reason = [(STREAM[0][0], "schema_mismatch", *STREAM[0][2:]), *STREAM[1:]]
    for stream in (other_payload, other_reason):
        with pytest.raises(AssertionError, match="only in right: 1"):
            assert_dead_letter_parity(_letters(spark, BATCH), _letters(spark, stream))


def test_messages_are_compared_only_when_asked(spark: SparkSession) -> None:
    batch, stream = _letters(spark, BATCH), _letters(spark, STREAM)
    with pytest.raises(AssertionError, match="message=boom at 0x1f"):
        assert_dead_letter_parity(batch, stream, messages=True)
    assert_dead_letter_parity(batch.where("executor IS NULL"), stream.where("executor IS NULL"),
                              messages=True)  # fmt: skip


def test_a_frame_that_is_not_a_dead_letter_table_is_named(spark: SparkSession) -> None:
    sink = spark.createDataFrame([("e1", 1)], "event_id STRING, n INT")
    with pytest.raises(AssertionError, match="left is not a dead-letter table"):
        assert_dead_letter_parity(sink, _letters(spark, BATCH))
