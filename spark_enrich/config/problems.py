"""Configuration problems: one :class:`ConfigError` carrying every :class:`Problem` found.

Each problem has a stable ``code`` (see :data:`CODES`), the file, line and column it points at,
the path inside the YAML document (``sources[1].topics``), what was found, what is allowed and,
where useful, a corrected example.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from spark_enrich.errors import SparkEnrichError

__all__ = ["CODES", "ConfigError", "Loc", "Problem", "format_path"]

Loc = tuple[str | int, ...]
"""A path inside the configuration document: keys and list indexes."""

CODES: dict[str, str] = {
    # reading the file
    "FILE_NOT_FOUND": "The configuration file does not exist.",
    "NOT_A_FILE": "The path names a directory or something else than a regular file.",
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
    "BAD_URL": "A service URL is not an absolute http(s) URL.",
    "BAD_DATETIME_PATTERN": "An event-time format is not a valid Spark datetime pattern.",
    "BAD_TIMESTAMP": "An instant is not an ISO-8601 date or date-time.",
    "BAD_REGEX": "A regular expression does not compile.",
    "PATH_XOR_TABLE": "Exactly one of `path` and `table` must be given.",
    "TOPICS_XOR_PATTERN": "Exactly one of `topics` and `pattern` must be given.",
    "SEQUENCE_MODE": "`sink.sequence` is given without `mode: sequence`, or the mode without it.",
    # cross-field rules
    "UNKNOWN_EXECUTOR": "An executor name is not in the executor registry.",
    "REGISTRY_ERROR": "The executor registry could not be loaded.",
    "BAD_PARAMS": "An executor takes no params but the configuration gives some.",
    "UNDECLARED_TABLE": "An executor uses a table that `enrichments.tables` does not declare.",
    "UNDECLARED_SERVICE": "An executor uses a service `enrichments.services` does not declare.",
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


def format_path(loc: Loc) -> str:
    """``("sources", 1, "topics")`` -> ``sources[1].topics``; odd keys are quoted."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
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

    def format(self) -> str:
        """``FILE:LINE:COL: yaml.path: message [CODE]``, then an indented line with what was
        found, what is allowed and an example."""
        text = (
            f"{self.file or '<config>'}:{self.line or 0}:{self.column or 0}: "
            f"{self.path}: {self.message} [{self.code}]"
        )
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


class ConfigError(SparkEnrichError):
    """A pipeline configuration is invalid; ``problems`` lists every problem found.

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
        lines = "\n".join("  " + p.format().replace("\n", "\n  ") for p in self.problems)
        super().__init__(
            "CONFIG_INVALID",
            f"the pipeline configuration has {count} problem{'s' if count != 1 else ''}:\n{lines}",
            {"problems": [p.to_dict() for p in self.problems]},
        )
