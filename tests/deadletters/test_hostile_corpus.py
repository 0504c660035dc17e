"""The hostile corpus end to end, as a batch over a Delta table (payloads in a BINARY column,
byte for byte) and as a stream from a real Kafka topic: every event is accounted for, every bad
event is a dead letter with the right reason and its raw bytes, and both runtimes produce the
same dead letters."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.corpus import CASES, FILTERED, OUTPUT, TRUNCATED, Case
from support.deadletters import load, produce, write_archive, write_pipeline

from spark_enrich.accounting import RunReport
from spark_enrich.testing.kafka import LocalKafkaBroker
from spark_enrich.testing.parity import assert_dead_letter_parity


@dataclass
class Outcome:
    """One run of the corpus: its reports and what it left in the sink and dead letters."""

    report: RunReport
    dead: DataFrame
    sink: DataFrame
    reasons: dict[bytes | None, list[str]]
    sink_ids: list[str]


def _outcome(report: RunReport, dead: DataFrame, sink: DataFrame) -> Outcome:
    dead, sink = dead.localCheckpoint(), sink.localCheckpoint()
    reasons: dict[bytes | None, list[str]] = {}
    for row in dead.select("raw_payload", "reason").collect():
        raw = bytes(row["raw_payload"]) if row["raw_payload"] is not None else None
        reasons.setdefault(raw, []).append(row["reason"])
    sink_ids = [r[0] for r in sink.select("event_id").collect()]
    return Outcome(report, dead, sink, reasons, sink_ids)


@pytest.fixture(scope="module")
def batch(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    folder = tmp_path_factory.mktemp("hostile-batch")
    write_archive(spark, folder, [c.payload for c in CASES])
    pipeline = load(write_pipeline(folder), spark)
    report = pipeline.run_batch()
    return _outcome(report, pipeline.dead_letters(), pipeline.output())


@pytest.fixture(scope="module")
def stream(
    spark: SparkSession, kafka_broker: LocalKafkaBroker, tmp_path_factory: pytest.TempPathFactory
) -> Outcome:
    folder = tmp_path_factory.mktemp("hostile-stream")
    topic = f"hostile-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=2)
    produce(kafka_broker.bootstrap_servers, topic, CASES)
    path = write_pipeline(folder, bootstrap=kafka_broker.bootstrap_servers, topic=topic)
    pipeline = load(path, spark)
    report = pipeline.run_stream(source="events", available_now=True)
    return _outcome(report, pipeline.dead_letters(), pipeline.output())


def _event(case: Case) -> dict[str, object]:
    data = json.loads(case.payload or b"")
    assert isinstance(data, dict)
    return data


def _check_case(outcome: Outcome, case: Case) -> None:
    reasons = outcome.reasons.get(case.payload, [])
    if case.expect in (OUTPUT, FILTERED):
        assert reasons == [], f"{case.note}: dead-lettered as {reasons}"
        in_sink = _event(case)["event_id"] in outcome.sink_ids
        assert in_sink is (case.expect == OUTPUT), case.note
    else:
        copies = sum(1 for c in CASES if c.payload == case.payload)
        assert reasons == [case.expect] * copies, case.note


@pytest.mark.parametrize("case", CASES, ids=[c.note for c in CASES])
def test_batch_gives_each_case_its_outcome(batch: Outcome, case: Case) -> None:
    _check_case(batch, case)


@pytest.mark.kafka
@pytest.mark.parametrize("case", CASES, ids=[c.note for c in CASES])
def test_stream_gives_each_case_its_outcome(stream: Outcome, case: Case) -> None:
    _check_case(stream, case)


def _expected_letters(spark: SparkSession) -> DataFrame:
    rows = [
        (bytearray(c.payload) if c.payload is not None else None, c.expect)
        for c in CASES
        if c.expect not in (OUTPUT, FILTERED)
    ]
    return spark.createDataFrame(rows, "raw_payload BINARY, reason STRING")


def test_batch_dead_letters_hold_the_exact_bytes_with_their_reason(
    spark: SparkSession, batch: Outcome
) -> None:
    assert_df_equality(
        batch.dead.select("raw_payload", "reason"),
        _expected_letters(spark),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def _executor_of(case: Case) -> str:
    return "views" if _event(case)["event_type"] == "pin_view" else "clicks"


def _check_accounting(report: RunReport) -> None:
    produced = len(CASES)
    per_reason = Counter(c.expect for c in CASES)
    routed = [c for c in CASES if c.expect in (OUTPUT, FILTERED, "executor_error",
                                               "contract_violation")]  # fmt: skip
    for batch in report.batches:
        assert batch.violations() == []
    assert report.total("source_rows") == produced
    totals = report.by_executor()
    for name in ("clicks", "views"):
        mine = [c for c in routed if _executor_of(c) == name]
        counts = totals[name]
        expected = (
            len(mine),
            sum(c.expect == OUTPUT for c in mine),
            sum(c.expect == FILTERED for c in mine),
            sum(c.expect not in (OUTPUT, FILTERED) for c in mine),
        )
        assert (counts.input, counts.output, counts.filtered, counts.dead_lettered) == expected
        assert counts.input == counts.output + counts.filtered + counts.dead_lettered
    unrouted = report.total("unrouted")
    assert unrouted == per_reason["unknown_event_type"]
    assert report.total("unrouted_dead_lettered") == unrouted
    assert (
        report.total("output") + report.total("filtered") + report.total("dead_lettered")
        == produced
    )
    assert report.total("dead_lettered") == len(CASES) - per_reason[OUTPUT] - per_reason[FILTERED]


def test_batch_accounts_for_every_event(batch: Outcome) -> None:
    _check_accounting(batch.report)


@pytest.mark.kafka
def test_stream_accounts_for_every_event(stream: Outcome) -> None:
    _check_accounting(stream.report)


def _expected_sink_ids() -> list[str]:
    return sorted({str(_event(c)["event_id"]) for c in CASES if c.expect == OUTPUT})


def test_batch_sink_holds_each_output_event_once(batch: Outcome) -> None:
    assert sorted(batch.sink_ids) == _expected_sink_ids()


@pytest.mark.kafka
def test_stream_sink_holds_each_output_event_once(stream: Outcome) -> None:
    assert sorted(stream.sink_ids) == _expected_sink_ids()


@pytest.mark.kafka
def test_batch_and_stream_write_the_same_dead_letters(batch: Outcome, stream: Outcome) -> None:
    # Their ids, times, run ids and source coordinates differ; what went wrong, where, does not.
    assert_dead_letter_parity(batch.dead, stream.dead, messages=True)


def test_batch_dead_letters_carry_table_coordinates(batch: Outcome, tmp_path: Path) -> None:
    coordinates = batch.dead.select(
        "pipeline", "source.kind", "source.name", "source.version",
        F.col("source.table").endswith("/raw").alias("table_ok"),
        F.col("source.file").isNotNull().alias("has_file"),
        F.col("dead_lettered_at").isNotNull().alias("stamped"),
    ).distinct().collect()  # fmt: skip
    assert [tuple(r) for r in coordinates] == [("hostile", "delta", "archive", 0, True, True, True)]


@pytest.mark.kafka
def test_stream_dead_letters_carry_kafka_key_headers_and_offsets(stream: Outcome) -> None:
    rows = stream.dead.select(
        "raw_payload", "kafka_key", "kafka_headers", "source.kind", "source.topic",
        "source.partition",
        "source.offset", "source.timestamp",
    ).collect()  # fmt: skip
    assert len(rows) == len(CASES) - sum(c.expect in (OUTPUT, FILTERED) for c in CASES)
    positions = set()
    for row in rows:
        i = int(bytes(row["kafka_key"]).decode().removeprefix("key-"))
        assert [(h["key"], bytes(h["value"])) for h in row["kafka_headers"]] == [
            ("case", str(i).encode())
        ]
        raw = row["raw_payload"]
        assert (bytes(raw) if raw is not None else None) == CASES[i].payload
        assert row["kind"] == "kafka" and row["topic"].startswith("hostile-")
        assert row["timestamp"] is not None
        positions.add((row["partition"], row["offset"]))
    assert len(positions) == len(rows)


def test_batch_dead_letter_messages_name_the_problem(batch: Outcome) -> None:
    by_note = {c.note: c.payload for c in CASES}
    messages = {
        (bytes(r[0]) if r[0] is not None else None): r[1]
        for r in batch.dead.select("raw_payload", "message").collect()
    }

    def message(note: str) -> str:
        return str(messages[by_note[note]])

    assert message("only whitespace") == "empty payload"
    assert message("null payload (Kafka tombstone, null column)") == "empty payload"
    assert message("unescaped control character in a string").startswith(
        'payload is not valid JSON: {"event_id": "ctrl-1"'
    )
    assert message("an empty JSON array") == "payload is a JSON array; a JSON object was expected"
    found = "field 'dwell_ms': expected BIGINT, found "
    assert message("text where BIGINT expected") == found + 'the string "abc"'
    assert message("number as a JSON string") == found + 'the string "5000"'
    assert message("fraction where BIGINT expected") == found + "the number 1.5"
    assert message("nested arrays where BIGINT expected").startswith(found + "an array [[[")
    # Invalid JSON is called invalid, never "not a JSON object".
    for note in ("truncated JSON", "NaN, not a JSON number", "plain text", "trailing comma"):
        assert message(note).startswith("payload is not valid JSON: "), note
    assert message("truncated JSON") == f"payload is not valid JSON: {TRUNCATED.decode()}"
    assert message("UTF-8 byte order mark first").startswith(
        "payload starts with a UTF-8 byte order mark"
    )
    # Valid JSON that is not an object says which JSON value it is.
    assert message("a JSON number") == "payload is a JSON number; a JSON object was expected"
    assert message("a JSON string") == "payload is a JSON string; a JSON object was expected"
    assert message("JSON null") == "payload is JSON null; a JSON object was expected"
    # Valid, but deeper than the parser's limit: the message cannot tell which, and says both.
    for note in (
        "deeply nested arrays, nothing else",
        "junk nested deeper than any parser accepts, in an unknown field",
    ):
        assert message(note).startswith(
            "payload is not valid JSON, or nests deeper than the JSON parser accepts: "
        ), note
    lone = "payload holds a lone UTF-16 surrogate escape "
    assert message("lone high surrogate escape").startswith(lone + "\\ud800 (near …")
    assert '"user_id": "\\ud800' in message("lone high surrogate escape")
    assert message("lone low surrogate escape").startswith(lone + "\\udfff")
    assert message("surrogates in wrong order").startswith(lone + "\\udc00")
    assert message("lone surrogate escape in an unknown field").startswith(lone + "\\uDBFF")
    assert message("one byte over the limit") == "payload is 4097 bytes; the limit is 4096"
    assert "clicks cannot handle pin boom" in message("the executor raises on it")


def test_batch_keeps_surrogate_pairs_and_escaped_backslashes_as_written(
    spark: SparkSession, batch: Outcome
) -> None:
    # A valid pair decodes to its one character; "\\ud800" is the six characters \ud800.
    expected = spark.createDataFrame(
        [("sur-ok-1", "\U0001f600"), ("sur-ok-2", "\\ud800")], "event_id STRING, user_id STRING"
    )
    assert_df_equality(
        batch.sink.where(F.col("event_id").startswith("sur-ok-")).select("event_id", "user_id"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
