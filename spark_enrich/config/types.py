"""Value types of the configuration: names, durations, paths, DDL strings, option values.

Each raises a :class:`pydantic_core.PydanticCustomError` whose type is the stable problem
code (``BAD_DURATION``, ``BAD_DDL``...), so the loader can report it without guessing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

# The DDL value types live with the DDL parser; re-exported where the models import them.
from spark_enrich.config.ddl_usage import DDLSchemaStr as DDLSchemaStr
from spark_enrich.config.ddl_usage import DDLTypeStr as DDLTypeStr

NAME_PATTERN = r"^[a-z0-9_-]+$"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
DURATION_PATTERN = _DURATION.pattern
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//|/)")


# Spellings of one file system: s3a://b/x and s3://b/x are the same object on AWS.
_SCHEME_ALIASES = {"s3a": "s3", "s3n": "s3", "wasbs": "wasb", "abfss": "abfs"}


def location_key(location: str) -> str:
    """One spelling per storage location: a local path or ``file:`` URI as an absolute local
    path (relative paths against the working folder), other URIs with scheme aliases folded;
    repeated and trailing slashes dropped. ``s3a://b//x/`` and ``s3://b/x`` give one key."""
    scheme, sep, rest = location.partition("://")
    if not sep:
        scheme, sep, rest = location.partition(":")
        if scheme != "file" or not sep:  # a plain local path (or a Windows drive)
            return _local_key(location)
    scheme = scheme.lower()
    if scheme == "file":
        return _local_key("/" + rest.lstrip("/"))
    host, _, path = rest.partition("/")
    path = re.sub(r"/+", "/", path).strip("/")
    return f"{_SCHEME_ALIASES.get(scheme, scheme)}://{host}/{path}".rstrip("/")


def _local_key(path: str) -> str:
    return str(Path(re.sub(r"/+", "/", path)).resolve())


def _whole_match(pattern: str, message: str, allowed: str) -> Callable[[str], str]:
    """A validator: the whole value matches ``pattern`` (``re.fullmatch``: ``$`` would also
    match before a trailing newline, ``"demo\\n"``), else ``BAD_NAME``."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            # repr: a name ending in a newline must show it, not break the line
            raise PydanticCustomError(
                "BAD_NAME", "{shown} " + message, {"shown": repr(value), "allowed": allowed}
            )
        return value

    return check


MAX_NAME_LENGTH = 128
"""Longest name (pipeline, source, executor, table, service): a name ends up in paths, metric
labels and messages, and a 50 MB one must not pass."""


def _short_name(value: str) -> str:
    if len(value) > MAX_NAME_LENGTH:
        raise PydanticCustomError(
            "BAD_NAME",
            "the name is {length} characters long; a name has at most {limit}",
            {
                "length": f"{len(value):,}",
                "limit": MAX_NAME_LENGTH,
                "allowed": f"at most {MAX_NAME_LENGTH} characters",
            },
        )
    return value


NameRef = Annotated[str, AfterValidator(_short_name)]
"""A name given elsewhere (a registered executor, a declared source): at most
:data:`MAX_NAME_LENGTH` characters, no pattern."""

Name = Annotated[
    str,
    AfterValidator(_short_name),
    AfterValidator(
        _whole_match(
            NAME_PATTERN.strip("^$"),
            "is not a valid name: use lower-case letters, digits, '_' and '-'",
            "lower-case letters, digits, '_' and '-'",
        )
    ),
]
"""A logical name: ``[a-z0-9_-]+``, at most :data:`MAX_NAME_LENGTH` characters."""

TopicName = Annotated[
    str,
    AfterValidator(
        _whole_match(
            r"[A-Za-z0-9._-]{1,249}",
            "is not a Kafka topic name: letters, digits, '.', '_' and '-'",
            "1-249 letters, digits, '.', '_' and '-'",
        )
    ),
]
"""A Kafka topic name (the broker's own rule)."""


def parse_duration(value: object) -> timedelta:
    """``"500ms"``, ``"10s"``, ``"5m"``, ``"2h"``, ``"1d"`` (or ``"1h30m"``) -> timedelta.

    Raises:
        PydanticCustomError: ``BAD_DURATION``.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and _DURATION.match(value.strip()):
        ms = sum(float(n) * _UNIT_MS[unit] for n, unit in _DURATION_PART.findall(value.strip()))
        try:
            return timedelta(milliseconds=ms)
        except OverflowError:
            raise PydanticCustomError(
                "BAD_DURATION",
                "'{value}' is longer than the longest duration Python can hold (999999999d)",
                {"value": value, "allowed": "at most 999999999d", "example": "30d"},
            ) from None
    hint = " (a bare number has no unit)" if isinstance(value, (int, float)) else ""
    raise PydanticCustomError(
        "BAD_DURATION",
        "'{value}' is not a duration{hint}: write a number and a unit, like 500ms, 10s, 5m, 2h, 1d",
        {"value": value, "hint": hint, "allowed": "500ms, 10s, 5m, 2h, 1d", "example": "10s"},
    )


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling: ``timedelta(seconds=90)`` -> ``"90s"``."""
    ms = round(value.total_seconds() * 1000)
    for unit in ("d", "h", "m", "s"):
        if ms and ms % _UNIT_MS[unit] == 0:
            return f"{ms // _UNIT_MS[unit]}{unit}"
    return f"{ms}ms"


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise PydanticCustomError(
            "BAD_DURATION",
            "the duration must be longer than zero",
            {"value": format_duration(value), "allowed": "a duration > 0, like 10s"},
        )
    return value


_DURATION_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": DURATION_PATTERN, "examples": ["500ms", "10s", "5m", "2h", "1d"]}
)
_DURATION_JSON = PlainSerializer(format_duration, return_type=str, when_used="json")

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(_positive),
    _DURATION_SCHEMA,
    _DURATION_JSON,
]
"""A duration longer than zero, written ``500ms``, ``10s``, ``5m``, ``2h`` or ``1d``."""


def reject_boolean(value: object) -> object:
    """``value`` unless it is a boolean (a ``WRONG_TYPE`` error then)."""
    # Pydantic reads `true` as 1 for a number: `max_payload_bytes: true` would dead-letter every
    # event. Numbers written as text stay accepted (`${MAX_OFFSETS:-1000}` is text).
    if isinstance(value, bool):
        raise PydanticCustomError(
            "WRONG_TYPE",
            "expected a number, found {found}",
            {"found": str(value).lower(), "allowed": "a number"},
        )
    return value


Int = Annotated[int, BeforeValidator(reject_boolean)]
"""An integer; a YAML boolean is not one."""

Float = Annotated[float, BeforeValidator(reject_boolean)]
"""A number; a YAML boolean is not one."""


NonNegativeDuration = Annotated[
    timedelta, BeforeValidator(parse_duration), _DURATION_SCHEMA, _DURATION_JSON
]
"""A duration of zero or more, written like :data:`Duration`."""


def is_uri(path: str) -> bool:
    """True for ``s3://...``, ``abfss://...``, ``file:/...``, ``dbfs:/...``: not resolved."""
    return bool(_URI.match(path)) and not re.match(r"^[A-Za-z]:[\\/]", path)


def resolve_path(value: str, info: ValidationInfo) -> str:
    """Make a local path absolute, relative to ``context["base_dir"]`` (else the cwd)."""
    if not value.strip():
        raise PydanticCustomError(
            "BAD_VALUE", "the path is empty", {"value": value, "allowed": "a path or URI"}
        )
    if is_uri(value):
        return value
    base = (info.context or {}).get("base_dir") if isinstance(info.context, dict) else None
    expanded = Path(value).expanduser()
    return os.path.normpath(Path(base or Path.cwd()) / expanded)


PathStr = Annotated[str, AfterValidator(resolve_path)]
"""A path or URI; relative local paths are resolved against the YAML file's folder."""


def _scalar_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


OptionValue = Annotated[str, BeforeValidator(_scalar_to_str)]
"""A Spark option value: YAML numbers and booleans become their Spark string form."""

_SPARK_PATTERN_LETTERS = set("GyDMLdQqEFaBhKkHmsSVzOXxZ")


def _datetime_pattern(value: str) -> str:
    quoted = False
    for index, char in enumerate(value):
        if char == "'":
            quoted = not quoted
        elif not quoted and char.isalpha() and char not in _SPARK_PATTERN_LETTERS:
            raise PydanticCustomError(
                "BAD_DATETIME_PATTERN",
                "pattern letter '{letter}' (character {position}) is not a Spark datetime pattern "
                "letter; quote literal text with '...'",
                {
                    "letter": char,
                    "position": index + 1,
                    "value": value,
                    "allowed": "Spark datetime pattern letters: "
                    + "".join(sorted(_SPARK_PATTERN_LETTERS)),
                    "example": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
                },
            )
    if quoted:
        raise PydanticCustomError(
            "BAD_DATETIME_PATTERN",
            "unterminated quote in the datetime pattern",
            {"value": value, "allowed": "balanced '...' around literal text"},
        )
    return value


DatetimePattern = Annotated[str, AfterValidator(_datetime_pattern)]
"""A Spark datetime pattern (``yyyy-MM-dd HH:mm:ss``)."""


def parse_instant(value: str) -> datetime:
    """An ISO-8601 date or date-time -> an aware UTC datetime; no zone means UTC.

    ``"2000-01-01"``, ``"2000-01-01T00:00:00Z"`` and ``"2000-01-01T02:00:00+02:00"`` are the
    same instant.

    Raises:
        ValueError: the text is not an ISO-8601 date or date-time.
    """
    text = value.strip()
    # Python 3.10's fromisoformat does not know 'Z'.
    parsed = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # an offset moving 9999-12-31 past year 9999 (or 0001 before 1)
        raise ValueError(f"{value!r} is outside the years 1-9999 in UTC") from None


def format_instant(value: datetime) -> str:
    """The canonical spelling of an aware instant: UTC, ``Z`` suffix (``2000-01-01T00:00:00Z``)."""
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _instant(value: str) -> str:
    try:
        parsed = parse_instant(value)
    except ValueError:
        raise PydanticCustomError(
            "BAD_TIMESTAMP",
            "'{value}' is not an ISO-8601 date or date-time (years 1-9999 in UTC)",
            {
                "value": value,
                "allowed": "an ISO-8601 date or date-time; no zone means UTC",
                "example": "2000-01-01T00:00:00Z",
            },
        ) from None
    # One spelling per instant, so the configuration's hash does not depend on how it was written.
    return format_instant(parsed)


Instant = Annotated[
    str,
    AfterValidator(_instant),
    WithJsonSchema({"type": "string", "examples": ["2000-01-01", "2000-01-01T00:00:00Z"]}),
]
"""An instant as ISO-8601 text (``2000-01-01`` or ``2000-01-01T06:00:00+02:00``), kept as
its canonical UTC spelling ``2000-01-01T00:00:00Z``."""


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise PydanticCustomError(
            "BAD_REGEX",
            "the regular expression does not compile: {reason}",
            {"reason": str(exc), "value": value, "allowed": "a regular expression"},
        ) from None
    return value


Regex = Annotated[str, AfterValidator(_regex)]


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s:]+(:\d+)?(/\S*)?$", value):
        raise PydanticCustomError(
            "BAD_URL",
            "'{value}' is not an absolute http(s) URL",
            {
                "value": value,
                "allowed": "http://host[:port]/path",
                "example": "http://127.0.0.1:8080/v1",
            },
        )
    return value


HttpUrlStr = Annotated[str, AfterValidator(_http_url)]


def _none_is_literal_null(value: Any) -> Any:
    # YAML reads `on_failure: null` as None; the user means the policy named "null".
    return "null" if value is None else value


NullPolicy = BeforeValidator(_none_is_literal_null)
