"""Hand-written rows for the executor tests: the decoded input frame, the offline tables and
the output contract, as the engine defines them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pyspark.sql import DataFrame, SparkSession

EVENT_SCHEMA = (
    "event_id STRING, event_type STRING, user_id STRING, event_time TIMESTAMP, pin_id STRING, "
    "board_id STRING, surface STRING, dwell_ms BIGINT, query STRING, position INT, "
    "user_agent STRING, _se_meta STRUCT<topic: STRING, source_id: STRING>"
)
EVENT_COLUMNS = [
    "event_id", "event_type", "user_id", "event_time", "pin_id", "board_id", "surface",
    "dwell_ms", "query", "position", "user_agent", "_se_meta",
]  # fmt: skip
PINS_SCHEMA = (
    "pin_id STRING, board_id STRING, category STRING, language STRING, created_at TIMESTAMP"
)
USERS_SCHEMA = "user_id STRING, country STRING, signup_time TIMESTAMP"
CONTRACT_SCHEMA = (
    "event_id STRING, user_id STRING, event_type STRING, event_time TIMESTAMP, "
    "event_date DATE, item_id STRING, board_id STRING, category STRING, language STRING, "
    "surface STRING, dwell_ms BIGINT, dwell_bucket STRING, position INT, query STRING, "
    "query_tokens ARRAY<STRING>, hour_of_week INT, pin_age_days INT, user_country STRING"
)
CONTRACT_COLUMNS = [field.split()[0] for field in CONTRACT_SCHEMA.split(", ")]
HUMAN = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"


def utc(text: str) -> datetime:
    """``"2026-01-05 00:30:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def meta(event_id: str) -> tuple[str, str]:
    """The opaque engine metadata of an event: distinct per event so survival is checked."""
    return ("raw-topic", f"offset-of-{event_id}")


def event(event_id: str, **fields: Any) -> dict[str, Any]:
    """One decoded event: a human clicking pin p1 on Monday 2026-01-05 00:30 UTC, unless told."""
    row: dict[str, Any] = {
        "event_id": event_id,
        "event_type": "pin_click",
        "user_id": "u1",
        "event_time": utc("2026-01-05 00:30:00"),
        "pin_id": "p1",
        "board_id": None,
        "surface": "home_feed",
        "dwell_ms": None,
        "query": None,
        "position": None,
        "user_agent": HUMAN,
    }
    unknown = set(fields) - set(row)
    assert not unknown, f"not an event field: {unknown}"
    row.update(fields)
    row["_se_meta"] = meta(event_id)
    return row


def events_frame(spark: SparkSession, *rows: dict[str, Any]) -> DataFrame:
    """The decoded input frame of the given events."""
    return spark.createDataFrame([tuple(r[c] for c in EVENT_COLUMNS) for r in rows], EVENT_SCHEMA)


def contract_frame(spark: SparkSession, *rows: tuple[Any, ...]) -> DataFrame:
    """Expected output: the contract columns in order, then ``_se_meta`` (from the event id)."""
    schema = CONTRACT_SCHEMA + ", _se_meta STRUCT<topic: STRING, source_id: STRING>"
    return spark.createDataFrame([(*r, meta(r[0])) for r in rows], schema)


def contract_of(df: DataFrame) -> DataFrame:
    """The contract columns of an executor's output, in order, with ``_se_meta``."""
    return df.select(*CONTRACT_COLUMNS, "_se_meta")
