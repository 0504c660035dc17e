"""Read a pipeline file into a :class:`~spark_enrich.config.document.Document`.

The file is checked (exists, a regular file, at most 1 MiB, UTF-8, one YAML document, a
mapping), parsed by the pipeline YAML dialect, built with positions and interpolated, then
``--set`` overrides are applied. Never raises for a bad file: problems are collected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import yaml

from spark_enrich.config.building import Builder
from spark_enrich.config.document import Document
from spark_enrich.config.overrides import apply_overrides
from spark_enrich.config.problems import Problem
from spark_enrich.config.yaml_dialect import MAX_FILE_BYTES, Loader, TooLarge

__all__ = ["read_document"]


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
        loader = Loader(text)
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
    except TooLarge as exc:
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
        doc.data = Builder(doc, env).build(node, ())
    except TooLarge as exc:
        doc.problems[:] = [exc.problem]
        return doc
    apply_overrides(doc, overrides, env)
    return doc
