"""Configuration problems: one :class:`ConfigError` carrying every :class:`Problem` found.

Each problem has a stable ``code`` (see :data:`CODES`), the file, line and column it points at,
the path inside the YAML document (``sources[1].topics``), what was found, what is allowed and,
where useful, a corrected example.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from spark_enrich.errors import SparkEnrichError

__all__ = [
    "CODES",
    "MAX_LISTED",
    "ConfigError",
    "Loc",
    "Problem",
    "close_match",
    "format_path",
    "listed",
    "shorten",
]

Loc = tuple[str | int, ...]
"""A path inside the configuration document: keys and list indexes."""

CODES: dict[str, str] = {
    # reading the file
    "FILE_NOT_FOUND": "The configuration file does not exist.",
    "NOT_A_FILE": "The path names a directory or something else than a regular file.",
    "FILE_TOO_LARGE": "The file is larger than 1 MiB or holds more than 100,000 keys and values.",
    "NOT_UTF8": "The file is not valid UTF-8 text.",
    "EMPTY_FILE": "The file holds no YAML document.",
    "YAML_SYNTAX": "The file is not valid YAML.",
    "MULTIPLE_DOCUMENTS": "The file holds more than one YAML document.",
    "NOT_A_MAPPING": "The document (or an override target) is not a mapping of keys to values.",
    "DUPLICATE_KEY": "A key appears twice in the same mapping.",
    "BAD_KEY": "A mapping key is not a plain string.",
    "FILE_UNREADABLE": "The file cannot be read (permissions, a name too long, ...).",
    "UNREADABLE_VALUE": "A value YAML cannot build: a tag, or an alias to itself.",
    "ENV_VAR_MISSING": "`${VAR}` names an unset environment variable and gives no default.",
    "BAD_INTERPOLATION": "A `${...}` expression is malformed.",
    "BAD_OVERRIDE": "A `--set path=value` override is malformed or points nowhere.",
    # shape of the document (from the models)
    "UNKNOWN_KEY": "A key that the section does not define (the message suggests the closest).",
    "MISSING_REQUIRED": "A required key is missing.",
    "WRONG_TYPE": "A value has the wrong type (a string where a list is expected, ...).",
    "NOT_ALLOWED": "A value is not one of the allowed choices.",
    "UNKNOWN_KIND": "A `kind` names no known variant of the section.",
    "MISSING_KIND": "A section that has variants lacks its `kind`.",
    "OUT_OF_RANGE": "A number is outside its allowed range.",
    "TOO_SHORT": "A list or string is shorter than allowed (for example an empty list).",
    "BAD_NAME": "A name does not match its pattern.",
    "BAD_VALUE": "A value is malformed.",
    "BAD_DURATION": "A duration is not like `500ms`, `10s`, `5m`, `2h` or `1d`.",
    "BAD_DDL": "A Spark DDL type or column list does not parse.",
    "UNSUPPORTED_TYPE": "A Spark type that parses, but cannot go where it is written.",
    "BAD_URL": "A service URL is not an absolute http(s) URL.",
    "BAD_DATETIME_PATTERN": "An event-time format is not a valid Spark datetime pattern.",
    "BAD_TIMESTAMP": "An instant is not an ISO-8601 date or date-time.",
    "BAD_REGEX": "A regular expression does not compile.",
    "PATH_XOR_TABLE": "Exactly one of `path` and `table` must be given.",
    "TOPICS_XOR_PATTERN": "Exactly one of `topics` and `pattern` must be given.",
    "SEQUENCE_MODE": "`sink.sequence` is given without `mode: sequence`, or the mode without it.",
    "ONLINE_NEEDS_SEQUENCE": "`sink.online` is given with a mode other than `sequence`.",
    "DEDUP_NEEDS_ROWS": "`sink.dedup` is given with `mode: sequence` (a fold merges by key).",
    "BAD_STORE_URL": "An online store URL is not a redis://, rediss:// or unix:// URL.",
    # cross-field rules
    "UNKNOWN_EXECUTOR": "An executor name is not in the executor registry.",
    "REGISTRY_ERROR": "The executor registry could not be loaded.",
    "BAD_PARAMS": "An executor takes no params but the configuration gives some.",
    "UNDECLARED_TABLE": "An executor uses a table that `enrichments.tables` does not declare.",
    "UNDECLARED_SERVICE": "An executor uses a service `enrichments.services` does not declare.",
    "UNDECLARED_SERVICE_CALL": "An executor's code calls a service (`ctx.call_service`) that its "
    "`@executor(services=...)` does not declare.",
    "UNDECLARED_SOURCE": "`runtime.batch.source` names no declared source.",
    "DATE_COLUMN_CONFLICT": "`runtime.batch.date_column` is not an output column while the "
    "batch source selects dates on a `date_column` of its own.",
    "UNKNOWN_FIELD": "A decoding setting names a field that the raw-event schema lacks.",
    "NOT_IN_OUTPUT": "A key or partition column is not a column of the output contract.",
    "BAD_KEY_COLUMN": "A key column has a type whose values cannot be compared (a map).",
    "EVENT_TYPE_CONFLICT": "Two executors handle one event type and not both declare it shared.",
    "UNUSED_SHARED_EVENT_TYPE": "`shared_event_types` lists an event type the executor lacks.",
    "DUPLICATE_NAME": "Two entries of a list share a name.",
    "MISSING_CHECKPOINT": "A stream runtime has no checkpoint location.",
    "NO_RUNTIME": "`runtime` declares neither `stream` nor `batch`.",
    "NESTED_PATHS": "Two locations are the same or one lies inside the other.",
    "SHARED_CHECKPOINT": "Two pipelines use the same checkpoint location.",
    "RESERVED_TABLE_PROPERTY": "A sink table property is reserved by Spark (owner, location, ...).",
    "BAD_OPTION": "A Kafka option key does not start with `kafka.` or is managed by another key.",
    "BAD_PARTITION_COLUMN": "A partition column has a type Delta cannot partition by, or a "
    "sequence sink partitions by a column outside `sequence.group_by`.",
}


SHOWN_CHARS = 80
"""Characters of a long value that a problem shows (the rest is counted, not echoed)."""
FIELD_CHARS = 500
"""Longest text of any field of a problem: a bound for values echoed where not cut before."""
MAX_LISTED = 50
"""Problems listed per file (by ``validate``, ``run`` and :class:`ConfigError`'s message); the
rest are counted in an ``… and N more problems`` line."""


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` when at most ``limit`` characters, else its first ``limit`` characters and
    ``… (N characters)``: a 50 MB value must not be echoed whole."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def close_match(word: str, choices: Sequence[str]) -> str | None:
    """The choice closest to ``word`` (difflib's ratio >= 0.6), or None.

    A word more than 2.34 times as long as the longest choice cannot reach that ratio
    (``2 * matches / total length``): it is not compared, which keeps a hostile 50 MB value
    from costing seconds.
    """
    longest = max((len(c) for c in choices), default=0)
    if len(word) * 0.6 > 1.4 * longest:  # ratio <= 2 * longest / (len(word) + longest) < 0.6
        return None
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def format_path(loc: Loc) -> str:
    """``("sources", 1, "topics")`` -> ``sources[1].topics``; odd keys are quoted, keys longer
    than :data:`SHOWN_CHARS` cut (``['aaa…']``)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif len(part) > SHOWN_CHARS:  # cut, without spaces: a path is one word
            out += "[" + repr(part[:SHOWN_CHARS] + "…") + "]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", part):
            out += ("." if out else "") + part
        else:
            out += "[" + repr(part) + "]"
    return out or "(root)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration.

    Attributes:
        code: stable identifier, one of :data:`CODES`.
        message: what is wrong and how to fix it.
        file: the file the problem is in (``--set`` for a command-line override; None when
            the configuration came from a Python dict).
        line: 1-based line (None when unknown).
        column: 1-based column (None when unknown).
        path: the path inside the document, like ``sources[1].topics``.
        found: what the configuration holds there.
        allowed: what would be accepted.
        example: a corrected example, where useful.
    """

    code: str
    message: str
    file: str | None
    line: int | None
    column: int | None
    path: str
    found: str
    allowed: str
    example: str | None = None

    def __post_init__(self) -> None:
        # The last bound on echoed values: whatever a check quoted, a problem stays short.
        for name in ("message", "path", "found", "allowed", "example"):
            value = getattr(self, name)
            if isinstance(value, str) and len(value) > FIELD_CHARS:
                object.__setattr__(self, name, shorten(value, FIELD_CHARS))

    def format(self) -> str:
        """``FILE:LINE:COL: yaml.path: message [CODE]`` (``FILE: yaml.path: ...`` when the
        problem has no position, like a directory), then an indented line with what was found,
        what is allowed and an example."""
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 0}"
        text = f"{where}: {self.path}: {self.message} [{self.code}]"
        details = [
            f"{label}: {value}"
            for label, value in (
                ("found", self.found),
                ("allowed", self.allowed),
                ("example", self.example),
            )
            if value
        ]
        if details:
            text += "\n    " + "; ".join(details)
        return text

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict."""
        return asdict(self)


def listed(problems: Sequence[Problem], limit: int = MAX_LISTED) -> list[str]:
    """The formatted first ``limit`` problems, then ``FILE: … and N more problems`` when there
    are more: what a person reads (480,000 unknown keys must not print 118 MB)."""
    lines = [p.format() for p in problems[:limit]]
    more = len(problems) - limit
    if more > 0:
        where = problems[0].file or "<config>"
        lines.append(f"{where}: … and {more:,} more problem{'s' if more != 1 else ''}")
    return lines


class ConfigError(SparkEnrichError):
    """A pipeline configuration is invalid; ``problems`` lists every problem found.

    The message lists the first :data:`MAX_LISTED` of them and counts the rest.

    Example:
        >>> try:
        ...     load_pipeline("pipelines/demo.yaml")
        ... except ConfigError as exc:
        ...     for problem in exc.problems:
        ...         print(problem.format())
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        count = len(self.problems)
        lines = "\n".join("  " + line.replace("\n", "\n  ") for line in listed(self.problems))
        plural = "s" if count != 1 else ""
        super().__init__(
            "CONFIG_INVALID",
            f"the pipeline configuration has {count:,} problem{plural}:\n{lines}",
            {
                "problems": [p.to_dict() for p in self.problems[:MAX_LISTED]],
                "problem_count": count,
            },
        )
