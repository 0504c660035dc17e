"""A hostile corpus: the garbage a production enrichment pipeline meets, one case per line.

Each case is ``(payload bytes, expected outcome, note)``. The outcome is a dead-letter reason
code, or ``"output"`` / ``"filtered"`` for events that must reach the sink or be dropped by the
executor's filter. Payloads are unique except two deliberate exact duplicates, so that a dead
letter can be matched to its case by the raw payload.

The pipeline that reads it (see :mod:`support.deadletters`) decodes
``event_id, event_type, user_id, event_time, pin_id, dwell_ms BIGINT``, requires the first four,
dead-letters unrouted event types and limits payloads to :data:`MAX_PAYLOAD_BYTES`. Its
executors: ``clicks`` (``pin_click``; filters ``pin_id == "bot"``; raises on
``pin_id == "boom"``) and ``views`` (``pin_view``); both output ``dwell`` as INT.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

MAX_PAYLOAD_BYTES = 4096
OUTPUT, FILTERED = "output", "filtered"


class Case(NamedTuple):
    payload: bytes | None
    expect: str
    note: str


def event(event_id: str, **fields: Any) -> dict[str, Any]:
    """A valid ``pin_click`` at 2026-01-05 10:00 UTC; ``fields`` override or add keys."""
    base: dict[str, Any] = {
        "event_id": event_id,
        "event_type": "pin_click",
        "user_id": "u1",
        "event_time": "2026-01-05T10:00:00Z",
        "pin_id": "p1",
        "dwell_ms": 1200,
    }
    base.update(fields)
    return base


def js(value: Any) -> bytes:
    return json.dumps(value).encode()


def without(event_id: str, field: str) -> bytes:
    data = event(event_id)
    del data[field]
    return js(data)


def sized(event_id: str, size: int) -> bytes:
    """A valid event padded (in an unknown field) to exactly ``size`` bytes."""
    head = js(event(event_id, pad=""))
    payload = head.replace(b'"pad": ""', b'"pad": "' + b"x" * (size - len(head)) + b'"')
    assert len(payload) == size
    return payload


def surrogate(event_id: str, escaped_user_id: str) -> bytes:
    """A valid event whose ``user_id`` is written with the JSON escapes ``escaped_user_id``."""
    return js(event(event_id, user_id="USER")).replace(b'"USER"', f'"{escaped_user_id}"'.encode())


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


GOOD = js(event("ok-1"))
TRUNCATED = b'{"event_id": "trunc-1", "event_type": "pin_cl'

CASES: list[Case] = [
    # --- good events, and events that are fine although they look odd ---
    Case(GOOD, OUTPUT, "a plain valid click"),
    Case(GOOD, OUTPUT, "exact duplicate of the previous event: output twice, one sink row"),
    Case(js(event("ok-1", dwell_ms=999)), OUTPUT, "same event id, other payload: one sink row"),
    Case(js(event("ok-view", event_type="pin_view")), OUTPUT, "a valid view"),
    Case(js(event("ok-tz", event_time="2026-01-05T12:00:00+02:00")), OUTPUT, "zone offset"),
    Case(js(event("ok-space", event_time="2026-01-05 10:00:00")), OUTPUT, "space separator"),
    Case(js(event("ok-extra", extra={"a": {"b": [1, 2, {"c": None}]}})), OUTPUT, "unknown junk"),
    Case(sized("ok-limit", MAX_PAYLOAD_BYTES), OUTPUT, "exactly at the payload size limit"),
    Case(js(event("bot-1", pin_id="bot")), FILTERED, "the executor's filter drops bots"),
    # --- bytes that are not a JSON object ---
    Case(TRUNCATED, "decode_error", "truncated JSON"),
    Case(TRUNCATED, "decode_error", "the same truncated JSON again: two dead letters"),
    Case(b'{event_id: "m-1", event_type: "pin_click"}', "decode_error", "unquoted keys"),
    Case(b'{"event_id": "m-2", "user_id": "u1",}', "decode_error", "trailing comma"),
    Case(b"hello, world", "decode_error", "plain text"),
    Case(b"\xff\xfe\x00\x01garbage\x80", "decode_error", "binary junk, not UTF-8"),
    Case(
        js(event("latin-1", user_id="JOSE")).replace(b"JOSE", b"Jos\xe9"),
        "decode_error",
        "a latin-1 byte inside an otherwise valid event",
    ),
    Case(b"", "decode_error", "empty message"),
    Case(b"  \n\t ", "decode_error", "only whitespace"),
    Case(None, "decode_error", "null payload (Kafka tombstone, null column)"),
    Case(js([event("arr-1")]), "decode_error", "a JSON array holding a valid event"),
    Case(b"[]", "decode_error", "an empty JSON array"),
    Case(b"42", "decode_error", "a JSON number"),
    Case(b'"just a string"', "decode_error", "a JSON string"),
    Case(b"null", "decode_error", "JSON null"),
    Case(
        js(event("ctrl-1", user_id="a\nb")).replace(b"\\n", b"\n"),
        "decode_error",
        "unescaped control character in a string",
    ),
    Case(nested(1500).encode(), "decode_error", "deeply nested arrays, nothing else"),
    Case(js(event("nan-1")).replace(b"1200", b"NaN"), "decode_error", "NaN, not a JSON number"),
    Case(b"\xef\xbb\xbf" + js(event("bom-1")), "decode_error", "UTF-8 byte order mark first"),
    # --- JSON objects with the wrong shape ---
    Case(js(event("type-1", dwell_ms="abc")), "schema_mismatch", "text where BIGINT expected"),
    Case(js(event("type-2", dwell_ms=1.5)), "schema_mismatch", "fraction where BIGINT expected"),
    Case(js(event("type-4", dwell_ms="5000")), "schema_mismatch", "number as a JSON string"),
    Case(
        js(event("type-3")).replace(b"1200", b"123456789012345678901234567890"),
        "schema_mismatch",
        "integer overflowing BIGINT",
    ),
    Case(
        js(event("nest-1")).replace(b"1200", nested(50).encode()),
        "schema_mismatch",
        "nested arrays where BIGINT expected",
    ),
    Case(
        js(event("nest-2", junk="JUNK")).replace(b'"JUNK"', nested(1500).encode()),
        "decode_error",
        "junk nested deeper than any parser accepts, in an unknown field",
    ),
    # --- UTF-16 surrogate escapes: a lone one has no UTF-8 form (Spark would store '?') ---
    Case(surrogate("sur-1", r"\ud800"), "schema_mismatch", "lone high surrogate escape"),
    Case(surrogate("sur-2", r"\udfff"), "schema_mismatch", "lone low surrogate escape"),
    Case(surrogate("sur-3", r"x\udc00\ud800y"), "schema_mismatch", "surrogates in wrong order"),
    Case(
        js(event("sur-4", note="NOTE")).replace(b"NOTE", rb"\uDBFF"),
        "schema_mismatch",
        "lone surrogate escape in an unknown field",
    ),
    Case(surrogate("sur-ok-1", r"\ud83d\ude00"), OUTPUT, "a surrogate pair (an emoji) is fine"),
    Case(surrogate("sur-ok-2", r"\\ud800"), OUTPUT, "an escaped backslash, then text ud800"),
    Case(without("miss-id", "event_id"), "missing_required", "no event id"),
    Case(js(event("miss-user", user_id=None)), "missing_required", "user id null"),
    Case(without("miss-time", "event_time"), "missing_required", "no event time"),
    Case(without("miss-type", "event_type"), "missing_required", "no event type"),
    # --- event times ---
    Case(js(event("ts-1", event_time="05/01/2026 10:00:00")), "schema_mismatch", "d/m/y time"),
    Case(js(event("ts-2", event_time="2026-01-05")), "schema_mismatch", "date without time"),
    Case(js(event("ts-3", event_time=1767607200)), "schema_mismatch", "epoch seconds number"),
    Case(js(event("ts-4", event_time="now")), "schema_mismatch", "Spark's special string now"),
    Case(js(event("ts-5", event_time="2026-13-45T99:00:00Z")), "schema_mismatch", "bad fields"),
    Case(js(event("ts-6", event_time="2999-01-01T00:00:00Z")), "schema_mismatch", "far future"),
    Case(js(event("ts-7", event_time="1970-01-01T00:00:00Z")), "schema_mismatch", "epoch zero"),
    # --- routing, limits, executors, contract ---
    Case(js(event("route-1", event_type="pin_share")), "unknown_event_type", "no executor"),
    Case(js(event("route-2", event_type="PIN_CLICK")), "unknown_event_type", "wrong case"),
    Case(sized("big-1", MAX_PAYLOAD_BYTES + 1), "payload_too_large", "one byte over the limit"),
    Case(b"\xff" * (MAX_PAYLOAD_BYTES * 2), "payload_too_large", "oversized binary junk"),
    Case(js(event("boom-1", pin_id="boom")), "executor_error", "the executor raises on it"),
    Case(
        js(event("overflow-1", dwell_ms=99_999_999_999)),
        "contract_violation",
        "dwell overflows the contract's INT",
    ),
]
"""The corpus. Notes are unique; payloads too, except the two deliberate duplicates."""

REASONS = sorted({c.expect for c in CASES} - {OUTPUT, FILTERED})
