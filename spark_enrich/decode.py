"""Decode: raw payloads -> the typed raw-event frame, with bad rows marked, never raised.

Spark 4 runs in ANSI mode, where a bad cast fails the whole job. Decoding therefore only uses
functions that return null on bad input (``from_json`` in PERMISSIVE mode, ``try_to_timestamp``)
and turns every failure into an ``_se_error`` struct (reason, message) that routes the row to
the dead letters. Everything here is a column expression: no row-at-a-time Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StructType

from spark_enrich.columns import ERROR, META, Reason
from spark_enrich.config.types import format_duration, format_instant

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

PAYLOAD = "_se_payload"
"""The envelope column holding the payload text to decode."""
_CORRUPT = "_se_corrupt_record"
_TIME = "_se_event_time"
_PARSED = "_se_parsed"
_ANY_OBJECT = "MAP<STRING, STRING>"
# ISO-8601 with optional 'T', fraction and zone; explicit so that Spark's special strings
# ('now', 'yesterday', 'epoch') never parse: they would make decoding depend on the clock.
ISO_TIMESTAMP = "yyyy-MM-dd['T'][' ']HH:mm:ss[.SSSSSS][.SSS][XXX]"
_BOM = "\ufeff"
_MAX_NESTING = 1000
_HEX = "[0-9a-fA-F]"
_HIGH = rf"\\u[dD][89abAB]{_HEX}{{2}}"
_LOW = rf"\\u[dD][c-fC-F]{_HEX}{{2}}"
# A \uD800-\uDBFF escape not followed by a \uDC00-\uDFFF one, or a low one not preceded by a
# high one. Spark's JSON parser turns either into a Java string that UTF-8 encodes as '?'.
_LONE_SURROGATE = rf"{_HIGH}(?!{_LOW})|(?<!{_HIGH}){_LOW}"


@dataclass(frozen=True)
class DecodeSpec:
    """What decoding needs from the pipeline configuration."""

    schema: StructType
    event_type_field: str
    event_time_field: str
    event_id_field: str
    required: tuple[str, ...]
    event_time_format: str | None = None
    max_payload_bytes: int | None = None
    event_time_min: datetime | None = datetime(2000, 1, 1, tzinfo=timezone.utc)
    """Earlier event times are ``schema_mismatch``; None = no lower bound."""
    max_future: timedelta | None = timedelta(days=1)
    """Event times further than this after processing are ``schema_mismatch``; None = none."""

    @cached_property
    def expressions(self) -> _DecodeExpressions:
        """The decode expressions, built on first use: a stream decodes every micro-batch
        with the same ones, and building them costs ~200 calls into the JVM."""
        return _decode_expressions(self)


def _time_out_of_range(event_time: Column, spec: DecodeSpec) -> Column | None:
    """True for an event time outside the configured bounds; None when there are none."""
    # Compared as microseconds since the epoch: no datetime literal, so neither the Python
    # process's nor the session's time zone can shift a bound.
    micros = F.unix_micros(event_time)
    bounds = []
    if spec.event_time_min is not None:
        low = spec.event_time_min - datetime(1970, 1, 1, tzinfo=timezone.utc)
        bounds.append(micros < F.lit(low // timedelta(microseconds=1)))
    if spec.max_future is not None:
        ahead = spec.max_future // timedelta(microseconds=1)
        bounds.append(micros > F.unix_micros(F.current_timestamp()) + F.lit(ahead))
    if not bounds:
        return None
    return bounds[0] if len(bounds) == 1 else bounds[0] | bounds[1]


def _time_range_text(spec: DecodeSpec) -> str:
    low = format_instant(spec.event_time_min) if spec.event_time_min is not None else "any time"
    high = (
        f"now + {format_duration(spec.max_future)}" if spec.max_future is not None else "any time"
    )
    return f"[{low}, {high}]"


def parse_schema(ddl: str) -> StructType:
    """Parse a Spark DDL schema string with Spark's own parser (needs an active session)."""
    parsed = DataType.fromDDL(ddl)
    assert isinstance(parsed, StructType)
    return parsed


def _error(reason: Reason, message: Column) -> Column:
    return F.struct(F.lit(reason.value).alias("reason"), message.alias("message"))


def _snippet(col: Column, n: int = 80) -> Column:
    return F.when(F.length(col) > n, F.concat(F.substring(col, 1, n), F.lit("…"))).otherwise(col)


def _json_path(name: str) -> str:
    return f"$['{name}']" if not name.isidentifier() else f"$.{name}"


def _not_an_object(payload: Column) -> Column:
    """Why a payload is not a JSON object: not valid JSON at all, or which other JSON value.

    Parsed strictly (``try_parse_json`` refuses ``NaN``, single quotes, trailing commas), and
    only for the rows that failed: invalid JSON is never called a valid non-object."""
    kind = F.schema_of_variant(F.try_parse_json(payload))
    expected = "; a JSON object was expected"
    return (
        # json_array_length first: it also knows arrays nested deeper than try_parse_json takes.
        F.when(
            F.json_array_length(payload).isNotNull() | kind.startswith("ARRAY"),
            F.lit(f"payload is a JSON array{expected}"),
        )
        .when(
            kind.isin("BIGINT", "DOUBLE") | kind.startswith("DECIMAL"),
            F.lit(f"payload is a JSON number{expected}"),
        )
        .when(kind == "STRING", F.lit(f"payload is a JSON string{expected}"))
        .when(kind == "BOOLEAN", F.lit(f"payload is a JSON boolean{expected}"))
        .when(kind == "VOID", F.lit(f"payload is JSON null{expected}"))
        .otherwise(F.concat(_invalid_json(payload), _snippet(payload)))
    )


def _invalid_json(payload: Column) -> Column:
    """The start of the message for text no JSON parser here takes. Jackson also refuses valid
    JSON nested deeper than its limit (1,000 levels): with that many brackets, say so."""
    brackets = F.length(F.regexp_replace(payload, r"[^\[{]", ""))
    return F.when(
        brackets >= _MAX_NESTING,
        F.lit("payload is not valid JSON, or nests deeper than the JSON parser accepts: "),
    ).otherwise(F.lit("payload is not valid JSON: "))


def _json_value(payload: Column, path: str, text: Column) -> Column:
    """``text`` (a field's value as ``get_json_object`` gives it, unquoted) with its JSON type,
    so that ``"5000"`` reads as the string it is: ``the string "5000"``, ``the number 1.5``."""
    kind = F.schema_of_variant(F.try_variant_get(F.try_parse_json(payload), path, "variant"))
    shown = _snippet(text)
    return (
        F.when(kind == "STRING", F.concat(F.lit('the string "'), shown, F.lit('"')))
        .when(
            kind.isin("BIGINT", "DOUBLE") | kind.startswith("DECIMAL"),
            F.concat(F.lit("the number "), shown),
        )
        .when(kind == "BOOLEAN", F.concat(F.lit("the boolean "), shown))
        .when(kind.startswith("ARRAY"), F.concat(F.lit("an array "), shown))
        .when(kind.startswith("OBJECT"), F.concat(F.lit("an object "), shown))
        .otherwise(shown)
    )


def _escapes(payload: Column) -> Column:
    """``payload`` with every escaped backslash (``\\\\``) replaced by two other characters, so
    that each remaining backslash starts an escape: ``\\\\ud800`` is the text ``\\ud800``, not
    a surrogate. Positions are unchanged. Pairs are taken from the left, as a JSON parser does."""
    return F.regexp_replace(payload, r"\\\\", "__")


def _lone_surrogate_message(payload: Column) -> Column:
    escapes = _escapes(payload)
    at = F.regexp_instr(escapes, F.lit(_LONE_SURROGATE))
    # The text before the escape usually names the field: '…"user_id": "\ud800'.
    near = payload.substr(F.greatest(at - 24, F.lit(1)), F.least(at, F.lit(25)) + 5)
    return F.concat(
        F.lit("payload holds a lone UTF-16 surrogate escape "),
        F.regexp_extract(escapes, _LONE_SURROGATE, 0),
        F.lit(" (near …"),
        near,
        F.lit("): half of a surrogate pair is no character; Spark would store it as '?'"),
    )


def decode(envelope: DataFrame, spec: DecodeSpec) -> DataFrame:
    """Decode the envelope's ``_se_payload`` JSON into the schema's columns.

    Returns:
        The schema's fields (the event-time field as TIMESTAMP), ``_se_meta`` and ``_se_error``:
        null for a good row, else ``struct(reason, message)`` with the first problem found.
    """
    exprs = spec.expressions
    # Parsed once into its own column: the checks use it in CASE WHEN branches, where Spark
    # does not share subexpressions, so an inline expression would parse up to 4 times.
    frame = envelope.withColumn(_PARSED, exprs.parsed).withColumn(_TIME, exprs.event_time)
    return frame.select(*exprs.columns, F.col(META), exprs.error.alias(ERROR))


@dataclass(frozen=True)
class _DecodeExpressions:
    parsed: Column
    event_time: Column
    columns: tuple[Column, ...]
    error: Column


def _decode_expressions(spec: DecodeSpec) -> _DecodeExpressions:
    payload = F.col(PAYLOAD)
    parse_schema_ = StructType([*spec.schema.fields]).add(_CORRUPT, "string")
    parsed = F.from_json(
        payload, parse_schema_, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT}
    )
    field = {f.name: F.col(f"{_PARSED}.`{f.name}`") for f in spec.schema.fields}
    time_raw = field[spec.event_time_field]
    event_time = F.col(_TIME)
    corrupt = F.col(f"{_PARSED}.{_CORRUPT}").isNotNull()
    # The order is the order of precedence: a row's first failing check is its error.
    checks = [
        *_size_checks(spec),
        *_syntax_checks(payload, corrupt),
        *_field_checks(spec, payload, field, corrupt),
        *_time_checks(spec, time_raw, event_time),
    ]
    columns = tuple(
        event_time.alias(f.name) if f.name == spec.event_time_field else field[f.name].alias(f.name)
        for f in spec.schema.fields
    )
    time_fmt = spec.event_time_format or ISO_TIMESTAMP
    return _DecodeExpressions(
        parsed=parsed,
        event_time=F.try_to_timestamp(time_raw, F.lit(time_fmt)),
        columns=columns,
        error=_first_error(checks),
    )


_Check = tuple[Column, Reason, Column]


def _size_checks(spec: DecodeSpec) -> list[_Check]:
    if not spec.max_payload_bytes:
        return []
    size = F.octet_length(F.col(f"{META}.raw"))
    message = F.format_string(f"payload is %d bytes; the limit is {spec.max_payload_bytes}", size)
    return [(size > spec.max_payload_bytes, Reason.PAYLOAD_TOO_LARGE, message)]


def _syntax_checks(payload: Column, corrupt: Column) -> list[_Check]:
    """Is the payload a JSON object at all (decode errors), and free of lone surrogates."""
    # A payload that from_json parses into an object with no corrupt record is a JSON object:
    # the costlier checks below (two more parses of the text) only run on the other rows.
    suspect = F.col(_PARSED).isNull() | corrupt
    return [
        (
            # JSON whitespace too: F.trim strips spaces only.
            payload.isNull() | (suspect & payload.rlike(r"^[ \t\r\n]*$")),
            Reason.DECODE_ERROR,
            F.lit("empty payload"),
        ),
        (
            ~F.is_valid_utf8(payload),
            Reason.DECODE_ERROR,
            F.lit("payload is not valid UTF-8"),
        ),
        (
            suspect & payload.startswith(_BOM),
            Reason.DECODE_ERROR,
            F.lit(
                "payload starts with a UTF-8 byte order mark (bytes EF BB BF), which JSON does "
                "not allow; produce it without one"
            ),
        ),
        (
            suspect & F.json_object_keys(payload).isNull(),
            Reason.DECODE_ERROR,
            _not_an_object(payload),
        ),
        (
            # The JSON functions above accept what from_json rejects (unescaped control
            # characters); a document from_json cannot parse at all must not be blamed on its
            # first field below. Parsing values as text fails on syntax only, never on types.
            suspect & F.from_json(payload, _ANY_OBJECT).isNull(),
            Reason.DECODE_ERROR,
            F.concat(_invalid_json(payload), _snippet(payload)),
        ),
        # After the syntax checks: a document that is not JSON is a decode error whatever it
        # holds.
        (
            # Two substring searches first: only text with a \uD... escape pays for the regex.
            (payload.contains("\\ud") | payload.contains("\\uD"))
            & _escapes(payload).rlike(_LONE_SURROGATE),
            Reason.SCHEMA_MISMATCH,
            _lone_surrogate_message(payload),
        ),
    ]


def _field_checks(
    spec: DecodeSpec, payload: Column, field: dict[str, Column], corrupt: Column
) -> list[_Check]:
    """Fields of the wrong type, then required fields missing."""
    checks: list[_Check] = []
    for f in spec.schema.fields:
        found = F.get_json_object(payload, _json_path(f.name))
        checks.append(
            (
                corrupt & field[f.name].isNull() & found.isNotNull(),
                Reason.SCHEMA_MISMATCH,
                F.concat(
                    F.lit(f"field {f.name!r}: expected {_type_name(f.dataType)}, found "),
                    _json_value(payload, _json_path(f.name), found),
                ),
            )
        )
    for name in spec.required:
        checks.append(
            (
                field[name].isNull(),
                Reason.MISSING_REQUIRED,
                F.lit(f"required field {name!r} is missing or null"),
            )
        )
    return checks


def _time_checks(spec: DecodeSpec, time_raw: Column, event_time: Column) -> list[_Check]:
    """An event time that does not parse, then one outside the accepted range."""
    time_fmt = spec.event_time_format or ISO_TIMESTAMP
    checks: list[_Check] = [
        (
            event_time.isNull(),
            Reason.SCHEMA_MISMATCH,
            F.concat(
                F.lit(f"field {spec.event_time_field!r}: "),
                _snippet(time_raw),
                F.lit(f" does not match the time format {time_fmt}"),
            ),
        )
    ]
    out_of_range = _time_out_of_range(event_time, spec)
    if out_of_range is not None:
        checks.append(
            (
                out_of_range,
                Reason.SCHEMA_MISMATCH,
                F.concat(
                    F.lit(f"field {spec.event_time_field!r}: "),
                    time_raw,
                    F.lit(f" is outside the accepted range {_time_range_text(spec)}"),
                ),
            )
        )
    return checks


def _first_error(checks: Sequence[tuple[Column, Reason, Column]]) -> Column:
    expr: Column | None = None
    for condition, reason, message in checks:
        cond = F.coalesce(condition, F.lit(False))
        expr = (
            (F.when(cond, _error(reason, message)))
            if expr is None
            else expr.when(cond, _error(reason, message))
        )
    assert expr is not None
    return expr.otherwise(F.lit(None))


def _type_name(data_type: DataType) -> str:
    return data_type.simpleString().upper()
