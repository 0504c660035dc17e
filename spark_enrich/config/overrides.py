"""``--set a.b[0].c=value`` overrides of a read configuration, each located as ``--set`` line N."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from spark_enrich.config.document import Document, Position
from spark_enrich.config.interpolation import interpolate
from spark_enrich.config.problems import Problem, format_path
from spark_enrich.config.yaml_dialect import load_value

__all__ = ["apply_overrides"]


_SEGMENT = re.compile(r"""([^.\[\]'"]+)|\[(\d+)\]|\[(["'])(.+?)\3\]""")


def _parse_override_path(text: str) -> list[str | int] | None:
    """``a.b[0]['x.y']`` -> ``["a", "b", 0, "x.y"]``; None when malformed. A key holding dots
    (a Delta table property) is written in brackets and quotes, as problems print it."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        if parts:
            if text[pos] == ".":
                pos += 1
            elif text[pos] != "[":
                return None  # `sources[0]name`: a name must follow a dot
        match = _SEGMENT.match(text, pos)
        if match is None:
            return None
        if match.group(1) is not None:
            parts.append(match.group(1))
        elif match.group(2) is not None:
            parts.append(int(match.group(2)))
        else:
            parts.append(match.group(4))
        pos = match.end()
    return parts or None


def _forget(doc: Document, loc: tuple[str | int, ...]) -> None:
    """Drop the recorded positions of ``loc`` and everything below it."""
    for table in (doc.values, doc.keys):
        for known in [k for k in table if k[: len(loc)] == loc]:
            del table[known]
    doc.containers -= {k for k in doc.containers if k[: len(loc)] == loc}


def _place(doc: Document, loc: tuple[str | int, ...], value: Any, where: Position) -> None:
    """Record ``where`` as the position of ``loc`` and of everything inside ``value``."""
    doc.values[loc] = where
    doc.keys[loc] = where
    if isinstance(value, dict):
        doc.containers.add(loc)
        for key, item in value.items():
            _place(doc, (*loc, key), item, where)
    elif isinstance(value, list):
        doc.containers.add(loc)
        for index, item in enumerate(value):
            _place(doc, (*loc, index), item, where)


def apply_overrides(doc: Document, overrides: Sequence[str], env: Mapping[str, str]) -> None:
    """Apply ``a.b[0].c=value`` overrides; values are parsed as YAML (``[a, b]`` is a list).

    An override's position is file ``--set``, line = its 1-based number among the overrides.
    A list of named entries can also be addressed by name: ``sources.engagement.topics=[x]``.
    """
    for number, override in enumerate(overrides, start=1):
        where = Position("--set", number, 1)
        key_text, eq, value_text = override.partition("=")
        parts = _parse_override_path(key_text.strip()) if eq else None
        if parts is None:
            doc.problems.append(
                Problem(
                    "BAD_OVERRIDE",
                    f"override {override!r} is not of the form path=value",
                    "--set",
                    number,
                    1,
                    key_text or "(root)",
                    override,
                    "dotted.path=value",
                    "sink.mode=append",
                )
            )
            continue
        try:
            value: Any = load_value(value_text) if value_text.strip() else ""
        except (
            yaml.YAMLError,
            ValueError,
            KeyError,
            IndexError,
            TypeError,
            OverflowError,
            RecursionError,
        ):
            # Not YAML, or a tag that cannot build (`!!int x`): the text as written, which the
            # models then judge like any other value.
            value = value_text
        if isinstance(value, str):
            value, errors = interpolate(value, env)
            for code, detail in errors:
                doc.problems.append(
                    Problem(
                        code,
                        f"in override: {code.lower()} {detail}",
                        "--set",
                        number,
                        1,
                        key_text,
                        override,
                        "${VAR} or ${VAR:-default}",
                    )
                )
        node: Any = doc.data
        loc: list[str | int] = []
        ok = True
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list) and isinstance(part, str):
                named = [
                    j
                    for j, item in enumerate(node)
                    if isinstance(item, dict) and item.get("name") == part
                ]
                part = named[0] if named else part
            scalar_below = (
                not last
                and isinstance(node, dict)
                and node.get(part) is not None
                and not isinstance(node.get(part), (dict, list))
            )
            if isinstance(node, dict) and isinstance(part, str) and not scalar_below:
                if last:
                    node[part] = value
                elif node.get(part) is None:
                    # A mapping the file does not have yet: it comes from this override.
                    node[part] = {}
                    _forget(doc, (*loc, part))
                    _place(doc, (*loc, part), node[part], where)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                if last:
                    node[part] = value
            else:
                ok = False
                at = format_path((*loc, part)) if scalar_below else format_path(tuple(loc))
                doc.problems.append(
                    Problem(
                        "BAD_OVERRIDE",
                        f"override path {key_text!r} does not exist at {at}"
                        + (" (a value, not a mapping)" if scalar_below else ""),
                        "--set",
                        number,
                        1,
                        at,
                        type(node.get(part) if scalar_below else node).__name__,
                        "an existing mapping key or list index",
                    )
                )
                break
            loc.append(part)
            if not last:
                node = node[part]
        if ok:
            _forget(doc, tuple(loc))
            _place(doc, tuple(loc), value, where)
