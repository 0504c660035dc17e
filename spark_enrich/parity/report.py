"""What a comparison found: counts per kind of difference and a field-level sample, as text
for a person or as a dict for ``--format json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_VALUE_WIDTH = 80


@dataclass(frozen=True)
class FieldDiff:
    """One column: on how many matched keys it differs, and examples ``(key, left, right)``."""

    name: str
    count: int
    sample: tuple[tuple[dict[str, Any], Any, Any], ...] = ()


@dataclass(frozen=True)
class RowDiff:
    """One matched key whose row differs: column -> ``(left, right)`` for each differing one."""

    key: dict[str, Any]
    fields: dict[str, tuple[Any, Any]]


@dataclass(frozen=True)
class DiffReport:
    """The outcome of :func:`spark_enrich.parity.diff_frames`.

    Keys are counted once each: ``only_left`` (missing on the right), ``only_right`` (extra on
    the right), ``duplicated_*`` (keys with more than one row on that side), ``matched`` (one
    row on each side) of which ``differing`` have at least one differing column; ``fields``
    counts the differences per column. ``null_key_*`` are rows whose key has a null part.
    """

    key: tuple[str, ...]
    compared: tuple[str, ...]
    schema: dict[str, str]
    left_rows: int
    right_rows: int
    matched: int
    differing: int
    only_left: int
    only_right: int
    duplicated_left: int
    duplicated_right: int
    null_key_left: int = 0
    null_key_right: int = 0
    fields: dict[str, FieldDiff] = field(default_factory=dict)
    rows: tuple[RowDiff, ...] = ()
    only_left_keys: tuple[dict[str, Any], ...] = ()
    only_right_keys: tuple[dict[str, Any], ...] = ()
    duplicated_keys: tuple[tuple[dict[str, Any], int, int], ...] = ()

    @property
    def equal(self) -> bool:
        """No difference of any kind, the schema included."""
        return not (
            self.schema
            or self.differing
            or self.only_left
            or self.only_right
            or self.duplicated_left
            or self.duplicated_right
            or self.null_key_left
            or self.null_key_right
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (values that JSON has no type for become text)."""
        return {
            "equal": self.equal,
            "key": list(self.key),
            "compared": list(self.compared),
            "schema": self.schema,
            "left_rows": self.left_rows,
            "right_rows": self.right_rows,
            "matched": self.matched,
            "differing": self.differing,
            "only_left": self.only_left,
            "only_right": self.only_right,
            "duplicated_left": self.duplicated_left,
            "duplicated_right": self.duplicated_right,
            "null_key_left": self.null_key_left,
            "null_key_right": self.null_key_right,
            "columns": {name: f.count for name, f in self.fields.items()},
            "sample": {
                "differing": [
                    {
                        "key": _jsonable(r.key),
                        "fields": {
                            name: {"left": _jsonable(a), "right": _jsonable(b)}
                            for name, (a, b) in r.fields.items()
                        },
                    }
                    for r in self.rows
                ],
                "columns": {
                    name: [
                        {"key": _jsonable(k), "left": _jsonable(a), "right": _jsonable(b)}
                        for k, a, b in f.sample
                    ]
                    for name, f in self.fields.items()
                },
                "only_left": [_jsonable(k) for k in self.only_left_keys],
                "only_right": [_jsonable(k) for k in self.only_right_keys],
                "duplicated": [
                    {"key": _jsonable(k), "left_rows": a, "right_rows": b}
                    for k, a, b in self.duplicated_keys
                ],
            },
        }

    def render(self, left: str = "left", right: str = "right") -> list[str]:
        """The report as lines of text; ``left``/``right`` name the two sides."""
        lines = [
            f"{left}: {self.left_rows} rows; {right}: {self.right_rows} rows; "
            f"key ({', '.join(self.key)})",
            f"  equal: {'yes' if self.equal else 'no'}",
        ]
        lines.extend(f"  column {name}: {what}" for name, what in self.schema.items())
        counts = [
            (f"only in {left} (missing from {right})", self.only_left),
            (f"only in {right} (extra)", self.only_right),
            (f"duplicated keys in {left}", self.duplicated_left),
            (f"duplicated keys in {right}", self.duplicated_right),
            (f"rows with a null key in {left}", self.null_key_left),
            (f"rows with a null key in {right}", self.null_key_right),
        ]
        lines.append(f"  matched keys: {self.matched}, differing: {self.differing}")
        lines.extend(f"  {label}: {n}" for label, n in counts if n)
        for name, f in sorted(self.fields.items(), key=lambda item: (-item[1].count, item[0])):
            lines.append(f"    column {name}: {f.count} differ")
        if self.rows:
            lines.append("  differing rows (sample):")
            for r in self.rows:
                lines.append(f"    {_key_text(r.key)}")
                for name, (a, b) in r.fields.items():
                    lines.append(f"      {name}: {left} {_text(a)} | {right} {_text(b)}")
        for label, keys in (
            (f"only in {left} (sample)", self.only_left_keys),
            (f"only in {right} (sample)", self.only_right_keys),
        ):
            if keys:
                lines.append(f"  {label}:")
                lines.extend(f"    {_key_text(k)}" for k in keys)
        if self.duplicated_keys:
            lines.append("  duplicated keys (sample):")
            lines.extend(
                f"    {_key_text(k)}: {left} {a} rows, {right} {b} rows"
                for k, a, b in self.duplicated_keys
            )
        return lines


def _key_text(key: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_text(v)}" for k, v in key.items())


def _text(value: Any) -> str:
    text = repr(value.asDict(recursive=True) if hasattr(value, "asDict") else value)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."


def _jsonable(value: Any) -> Any:
    if hasattr(value, "asDict"):
        value = value.asDict(recursive=True)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return str(value)
