"""Read a YAML file into plain data plus the position of every key and value.

The loader composes the YAML node tree (which records marks), builds the Python values
itself, interpolates ``${VAR}`` / ``${VAR:-default}`` in string scalars and applies
``--set a.b=value`` overrides, collecting problems instead of stopping at the first one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from spark_enrich.config.problems import Loc, Problem, format_path, shorten

__all__ = ["MAX_FILE_BYTES", "MAX_VALUES", "Document", "Position", "interpolate", "read_document"]


@dataclass(frozen=True)
class Position:
    """Where something is: file, 1-based line and column."""

    file: str | None
    line: int | None
    column: int | None


@dataclass
class Document:
    """A loaded configuration: data, where each value and key came from, and problems."""

    data: Any
    file: str | None
    values: dict[Loc, Position] = field(default_factory=dict)
    keys: dict[Loc, Position] = field(default_factory=dict)
    containers: set[Loc] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def position(self, loc: Loc, *, key: bool = False) -> Position:
        """The position of ``loc``, else of its closest ancestor.

        A key's position is used when ``key`` is set, and for mappings and lists (``sink:``
        rather than the first key below it).
        """
        probe = tuple(loc)
        if key and probe in self.keys:
            return self.keys[probe]
        while probe:
            if probe in self.containers and probe in self.keys:
                return self.keys[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get(
            (), Position(self.file, 1 if self.file else None, 1 if self.file else None)
        )

    def problem(
        self,
        code: str,
        message: str,
        loc: Loc,
        found: str,
        allowed: str,
        example: str | None = None,
        *,
        key: bool = False,
    ) -> Problem:
        """A :class:`Problem` located at ``loc``."""
        pos = self.position(loc, key=key)
        return Problem(
            code, message, pos.file, pos.line, pos.column, format_path(loc), found, allowed, example
        )


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
# Integers as YAML 1.2 writes them (digit separators and signed hex/binary kept from YAML 1.1):
# PyYAML reads YAML 1.1, where `030` is octal 24 and `1:30` the sexagesimal 90, so
# `retention_days: 030` kept 24 days. Floats keep YAML 1.1's rules (a dot required: `1e3` and
# a short commit hash like `12e4567` stay text) minus the sexagesimal form.
_INT_12 = re.compile(r"(?:[-+]?0b[0-1_]+|[-+]?0o[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?[0-9][0-9_]*)\Z")
_FLOAT_12 = re.compile(
    r"(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)


MAX_FILE_BYTES = 1024 * 1024
"""Largest pipeline file read (a pipeline is a few KB). With :data:`MAX_VALUES`, it bounds the
pure-Python parse of any file to about 2 s of CPU (see docs/benchmarks.md)."""
MAX_VALUES = 100_000
"""Values a configuration may expand to (a pipeline has a few hundred)."""


class _TooLarge(Exception):
    """The document is beyond a cap: reading stops, and this one problem is all it reports."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader: YAML 1.1 implicit types, without octal and sexagesimal numbers
    (see ``_INT_12``); it stops past :data:`MAX_VALUES` keys and values."""

    composed = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # Counted as they are composed: 480,000 keys must not be parsed (minutes), then built
        # and validated one by one, for a file that is no pipeline.
        self.composed += 1
        if self.composed > MAX_VALUES:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise _TooLarge(
                Problem(
                    "FILE_TOO_LARGE",
                    f"the file holds more than {MAX_VALUES:,} keys and values; "
                    "a pipeline holds a few hundred",
                    None,  # the file is filled in by read_document
                    mark.line + 1,
                    mark.column + 1,
                    "(root)",
                    f"more than {MAX_VALUES:,} keys and values",
                    f"at most {MAX_VALUES:,} keys and values",
                )
            )
        return super().compose_node(parent, index)  # type: ignore[no-any-return]


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_INT, _INT_12, list("-+0123456789"))
_Loader.add_implicit_resolver(_FLOAT, _FLOAT_12, list("-+.0123456789"))


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe scalars, except that timestamps stay strings (dates are compared as text) and
    integers are read as YAML 1.2 writes them (``030`` is 30, ``0o30`` is 24)."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:  # type: ignore[override]
        text = str(self.construct_scalar(node)).replace("_", "")
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        if digits.startswith("0x"):
            return sign * int(digits[2:], 16)
        if digits.startswith("0b"):  # an explicit `!!int 0b101` still reads as binary
            return sign * int(digits[2:], 2)
        if ":" in digits:  # `!!int 1:30`: YAML 1.2 has no sexagesimal numbers
            raise ValueError(f"not an integer: {text}")
        return sign * int(digits, 10)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:  # type: ignore[override]
        if ":" in str(self.construct_scalar(node)):  # `!!float 1:30`, as for integers
            raise ValueError(f"not a number: {node.value}")
        return float(super().construct_yaml_float(node))


_Constructor.add_constructor(
    "tag:yaml.org,2002:timestamp",
    yaml.constructor.SafeConstructor.construct_yaml_str,  # type: ignore[type-var]
)
_Constructor.add_constructor(_INT, _Constructor.construct_yaml_int)  # type: ignore[type-var]
_Constructor.add_constructor(_FLOAT, _Constructor.construct_yaml_float)  # type: ignore[type-var]


def _load_value(text: str) -> Any:
    """A ``--set`` value, read by the file's rules (timestamps stay strings)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return None if node is None else _Constructor().construct_document(node)


_VAR = re.compile(r"\$(?:\$|\{([^}]*)\})")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """Replace ``${VAR}`` and ``${VAR:-default}``; ``$$`` is a literal ``$``.

    As in POSIX shells, the default also replaces a variable that is set but empty: an empty
    ``SPARK_ENRICH_DEMO_DIR=`` must not turn ``${SPARK_ENRICH_DEMO_DIR:-out}/sink`` into
    ``/sink``. Defaults are plain text (no nested ``${...}``).

    Returns:
        the new text and a list of ``(code, detail)`` errors: ``ENV_VAR_MISSING`` with the
        variable name, or ``BAD_INTERPOLATION`` with the malformed expression.
    """
    errors: list[tuple[str, str]] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        body = match.group(1)
        name, sep, default = body.partition(":-")
        if not _VAR_NAME.match(name) or "${" in default:
            errors.append(("BAD_INTERPOLATION", match.group(0)))
            return match.group(0)
        if sep and not env.get(name):
            return default
        if name in env:
            return env[name]
        errors.append(("ENV_VAR_MISSING", name))
        return match.group(0)

    result = _VAR.sub(replace, text)
    if "${" in _VAR.sub("", text):
        errors.append(("BAD_INTERPOLATION", text[text.find("${") :]))
    return result, errors


_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Builder:
    def __init__(self, doc: Document, env: Mapping[str, str]) -> None:
        self.doc = doc
        self.env = env
        self.constructor = _Constructor()
        # Collections being built: an alias to one of them (`&a [x, *a]`) would never end.
        self.open: set[int] = set()
        self.built = 0

    def pos(self, mark: yaml.Mark) -> Position:
        return Position(self.doc.file, mark.line + 1, mark.column + 1)

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.doc.values[loc] = self.pos(node.start_mark)
        self.built += 1
        if self.built > MAX_VALUES:
            # Aliases of aliases ("billion laughs") expand exponentially: stop, do not hang. The
            # rest of the document is not built, so this is the one problem reported: the keys
            # left unbuilt are not "expected a string, found null".
            self.bad_value(node, loc, f"the document expands to more than {MAX_VALUES} values")
            raise _TooLarge(self.doc.problems.pop())
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self.doc.containers.add(loc)
            if node.tag not in _COLLECTION_TAGS:
                self.bad_value(node, loc, f"a collection tagged {node.tag}")
                return None
            if id(node) in self.open:
                self.bad_value(node, loc, "an alias refers to a collection that contains it")
                return None
            self.open.add(id(node))
            try:
                if isinstance(node, yaml.MappingNode):
                    return self.mapping(node, loc)
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        try:
            value = self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError) as exc:
            # A tag (`!sql`, `!!python/...`) or a tagged value that is not what its tag says
            # (`!!int abc`): the text as written, reported as a problem.
            reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else None
            reason = reason or f"{node.tag} cannot read {shorten(repr(node.value))}"
            self.bad_value(node, loc, reason)
            return node.value
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            # `!!binary`, `!!set`, ...: not a value any setting takes.
            self.bad_value(node, loc, f"{node.tag} builds a {type(value).__name__}")
            return node.value
        if isinstance(value, str) and "$" in value:
            value = self.interpolate(value, loc)
        return value

    def bad_value(self, node: yaml.Node, loc: Loc, reason: str) -> None:
        found = shorten(node.value) if isinstance(node, yaml.ScalarNode) else ""
        found = found or node.tag.rsplit(":", 1)[-1]
        self.doc.problems.append(
            self.doc.problem(
                "UNREADABLE_VALUE",
                f"cannot read this value: {reason}",
                loc,
                f"{node.tag} {found}" if not node.tag.startswith("tag:yaml.org") else str(found),
                "a plain YAML value (no tags, no recursive aliases)",
            )
        )

    def interpolate(self, value: str, loc: Loc) -> str:
        result, errors = interpolate(value, self.env)
        for code, detail in errors:
            detail = shorten(detail)
            if code == "ENV_VAR_MISSING":
                self.doc.problems.append(
                    self.doc.problem(
                        code,
                        f"environment variable {detail} is not set",
                        loc,
                        f"${{{detail}}} with {detail} unset",
                        f"set {detail}, or give a default",
                        f"${{{detail}:-default-value}}",
                    )
                )
            else:
                self.doc.problems.append(
                    self.doc.problem(
                        code,
                        f"malformed interpolation {detail!r}",
                        loc,
                        detail,
                        "${VAR}, ${VAR:-default} or $$ for a literal $",
                        "${KAFKA_BOOTSTRAP:-127.0.0.1:9092}",
                    )
                )
        return result

    def mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        explicit = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        self.constructor.flatten_mapping(node)  # resolves `<<: *anchor` merge keys, put first
        merged_count = len(node.value) - explicit
        merged: set[str] = set()
        out: dict[str, Any] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode):
                self.doc.problems.append(
                    Problem(
                        "BAD_KEY",
                        "mapping keys must be plain strings",
                        self.doc.file,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        format_path(loc),
                        key_node.tag,
                        "a string key",
                    )
                )
                continue
            # The key's text as written: `on:` stays "on", not True (YAML 1.1's trap).
            key = str(key_node.value)
            child = (*loc, key)
            if index < merged_count:
                merged.add(key)
                out.pop(key, None)  # merged mappings: PyYAML lists the winning one last
            elif key in merged:
                merged.discard(key)  # an explicit key overrides a merged one
                del out[key]
            if key in out:
                first = self.doc.keys[child]
                self.doc.problems.append(
                    Problem(
                        "DUPLICATE_KEY",
                        f"key {shorten(repr(key))} appears twice in this mapping "
                        f"(first at line {first.line})",
                        self.doc.file,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        format_path(child),
                        shorten(key),
                        "each key once",
                    )
                )
                continue
            self.doc.keys[child] = self.pos(key_node.start_mark)
            out[key] = self.build(value_node, child)
        return out


def _mark_problem(file: str, code: str, message: str, mark: yaml.Mark | None) -> Problem:
    line = mark.line + 1 if mark is not None else 1
    column = mark.column + 1 if mark is not None else 1
    return Problem(code, message, file, line, column, "(root)", "", "valid YAML")


def _yaml_problem(file: str, exc: yaml.YAMLError, text: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        message = " ".join(x for x in (exc.context, exc.problem) if x) or "invalid YAML"
        return _mark_problem(file, "YAML_SYNTAX", f"YAML syntax error: {message}", exc.problem_mark)
    if isinstance(exc, yaml.reader.ReaderError):  # no mark: locate its position in the text
        line = text.count("\n", 0, exc.position)
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1)
        message = f"YAML error: character #x{exc.character:04x} is not allowed ({exc.reason})"
        return Problem(
            "YAML_SYNTAX", message, file, line + 1, column + 1, "(root)", "", "valid YAML"
        )
    return _mark_problem(file, "YAML_SYNTAX", f"YAML error: {exc}", None)


def _utf8_problem(file: str, raw: bytes, exc: UnicodeDecodeError) -> Problem:
    before = raw[: exc.start]
    line = before.count(b"\n") + 1
    column = exc.start - (before.rfind(b"\n") + 1) + 1
    bad = raw[exc.start : exc.end].hex(" ")
    return Problem(
        "NOT_UTF8",
        f"the file is not UTF-8: byte(s) {bad} cannot be decoded ({exc.reason})",
        file,
        line,
        column,
        "(root)",
        f"bytes {bad}",
        "UTF-8 text",
        "re-save the file as UTF-8",
    )


def read_document(
    path: str | Path, env: Mapping[str, str], overrides: Sequence[str] = ()
) -> Document:
    """Read, parse, interpolate and override a YAML configuration file.

    Never raises for a bad file: problems are collected in :attr:`Document.problems`.
    """
    file = str(path)
    doc = Document(data=None, file=file)
    p = Path(path)
    try:
        return _read_file(doc, p, env, overrides)
    except OSError as exc:  # a name too long, no permission: the OS's own words
        doc.problems.append(
            Problem(
                "FILE_UNREADABLE",
                f"the file cannot be read: {exc.strerror or exc}",
                file,
                None,
                None,
                "(root)",
                file,
                "a readable YAML file",
            )
        )
        return doc


def _read_file(
    doc: Document, p: Path, env: Mapping[str, str], overrides: Sequence[str]
) -> Document:
    file = doc.file or str(p)
    if not p.exists():
        doc.problems.append(
            Problem(
                "FILE_NOT_FOUND",
                "no such file",
                file,
                None,
                None,
                "(root)",
                file,
                "an existing file",
            )
        )
        return doc
    if not p.is_file():
        kind = "a directory" if p.is_dir() else "not a regular file"
        doc.problems.append(
            Problem(
                "NOT_A_FILE",
                f"the path is {kind}, not a YAML file",
                file,
                None,
                None,
                "(root)",
                kind,
                "a YAML file",
                f"{file.rstrip('/')}/pipeline.yaml" if p.is_dir() else None,
            )
        )
        return doc
    with p.open("rb") as stream:  # no more than the cap is read: a 50 GB file is no pipeline
        raw = stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        size = max(p.stat().st_size, len(raw))
        doc.problems.append(
            Problem(
                "FILE_TOO_LARGE",
                f"the file is {size:,} bytes; a pipeline file may be at most "
                f"{MAX_FILE_BYTES:,} bytes (1 MiB)",
                file,
                None,
                None,
                "(root)",
                f"{size:,} bytes",
                f"at most {MAX_FILE_BYTES:,} bytes",
            )
        )
        return doc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        doc.problems.append(_utf8_problem(file, raw, exc))
        return doc
    text = text.removeprefix("\ufeff")
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # a control character: the reader checks the whole text
        doc.problems.append(_yaml_problem(file, exc, text))
        return doc
    try:
        if not loader.check_node():
            node = None
        else:
            node = loader.get_node()
            extra = loader.get_node() if loader.check_node() else None
            if extra is not None:
                doc.problems.append(
                    _mark_problem(
                        file,
                        "MULTIPLE_DOCUMENTS",
                        "the file holds more than one YAML document; keep one pipeline per file",
                        extra.start_mark,
                    )
                )
                return doc
    except yaml.YAMLError as exc:
        doc.problems.append(_yaml_problem(file, exc, text))
        return doc
    except _TooLarge as exc:
        doc.problems[:] = [replace(exc.problem, file=file)]
        return doc
    except RecursionError:
        doc.problems.append(
            _mark_problem(
                file, "YAML_SYNTAX", "YAML error: the document is nested too deeply", None
            )
        )
        return doc
    finally:
        loader.dispose()
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        doc.problems.append(
            Problem(
                "EMPTY_FILE",
                "the file holds no configuration",
                file,
                1,
                1,
                "(root)",
                "an empty document",
                "a mapping with name, version, sources, ...",
                "see pipelines/demo.yaml",
            )
        )
        return doc
    if not isinstance(node, yaml.MappingNode):
        doc.problems.append(
            Problem(
                "NOT_A_MAPPING",
                "the document must be a mapping of keys to values",
                file,
                node.start_mark.line + 1,
                node.start_mark.column + 1,
                "(root)",
                node.tag.rsplit(":", 1)[-1],
                "a mapping",
                "name: my-pipeline",
            )
        )
        return doc
    try:
        doc.data = _Builder(doc, env).build(node, ())
    except _TooLarge as exc:
        doc.problems[:] = [exc.problem]
        return doc
    apply_overrides(doc, overrides, env)
    return doc


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
            value: Any = _load_value(value_text) if value_text.strip() else ""
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
