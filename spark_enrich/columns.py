"""Names and schemas of the columns the engine owns.

Executors see one engine column, ``_se_meta`` (a struct they must carry through untouched). The
sink gets the output contract plus the ``_``-prefixed metadata columns below; the dead-letter
table has the fixed schema :data:`DEAD_LETTER_DDL`.
"""

from __future__ import annotations

from enum import Enum

META = "_se_meta"
"""Struct with the raw payload, Kafka key/headers, source coordinates and a row id."""
ERROR = "_se_error"
"""Transient struct<reason, message> set by decoding and conforming; null for good rows."""

# Metadata the engine appends after the executor; the only columns allowed to differ between
# two runs over the same events (tests of parity exclude every column starting with "_").
EXECUTOR_COL = "_executor"
EXECUTOR_VERSION_COL = "_executor_version"
SOURCE_COL = "_source"
INGESTED_AT_COL = "_ingested_at"
RUN_ID_COL = "_run_id"
METADATA_COLUMNS = (EXECUTOR_COL, EXECUTOR_VERSION_COL, SOURCE_COL, INGESTED_AT_COL, RUN_ID_COL)
SEQUENCE_UPDATED_AT = "_updated_at"
"""Column of a sequence sink: when the sequence last changed (each event keeps its metadata)."""

SOURCE_FIELDS = (
    ("name", "STRING"),
    ("kind", "STRING"),
    ("topic", "STRING"),
    ("partition", "INT"),
    ("offset", "BIGINT"),
    ("timestamp", "TIMESTAMP"),
    ("table", "STRING"),
    ("version", "BIGINT"),
    ("file", "STRING"),
)
"""Source coordinates: topic/partition/offset/timestamp for Kafka, table/version/file otherwise."""
SOURCE_TYPE = "STRUCT<" + ", ".join(f"`{n}`: {t}" for n, t in SOURCE_FIELDS) + ">"
HEADERS_TYPE = "ARRAY<STRUCT<key: STRING, value: BINARY>>"


class Reason(str, Enum):
    """Stable reason codes of dead letters."""

    DECODE_ERROR = "decode_error"
    SCHEMA_MISMATCH = "schema_mismatch"
    MISSING_REQUIRED = "missing_required"
    CONTRACT_VIOLATION = "contract_violation"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    EXECUTOR_ERROR = "executor_error"
    ENRICHMENT_ERROR = "enrichment_error"
    PAYLOAD_TOO_LARGE = "payload_too_large"


DEAD_LETTER_DDL = ", ".join(
    [
        "dead_letter_id STRING NOT NULL",
        "reason STRING NOT NULL",
        "message STRING",
        "pipeline STRING NOT NULL",
        "executor STRING",
        "executor_version STRING",
        "event_type STRING",
        "raw_payload BINARY",
        "kafka_key BINARY",
        f"kafka_headers {HEADERS_TYPE}",
        f"source {SOURCE_TYPE}",
        "dead_lettered_at TIMESTAMP NOT NULL",
        "run_id STRING",
        "replayed_at TIMESTAMP",
        "replay_run_id STRING",
        # The idempotent write that stored the row (a stream's micro-batch, a batch run of a
        # Delta source): a retry of that write supersedes them (see DeadLetterTable.write).
        "txn_app_id STRING",
        "txn_version BIGINT",
    ]
)
