"""Turn pydantic validation errors into located :class:`Problem` objects.

Pydantic reports a location such as ``("sources", 0, "kafka", "topics")`` where ``"kafka"`` is
the discriminator tag, not a key of the document. Walking the model types along the location
tells tags from keys, and gives the valid keys of the section for "did you mean" suggestions.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from collections import Counter
from dataclasses import replace
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from spark_enrich.config.document import Document
from spark_enrich.config.problems import (
    CODES,
    MAX_LISTED,
    SHOWN_CHARS,
    Loc,
    Problem,
    close_match,
    shorten,
)

_TYPE_ERRORS = {
    "string_type",
    "int_type",
    "int_parsing",
    "int_from_float",
    "float_type",
    "float_parsing",
    "bool_type",
    "bool_parsing",
    "list_type",
    "dict_type",
    "model_type",
    "model_attributes_type",
    "none_required",
    "tuple_type",
    "set_type",
    "is_instance_of",
    "timedelta_type",
    "timedelta_parsing",
    "decimal_type",
    "decimal_parsing",
    "bytes_type",
}
_RANGE_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "multiple_of",
}
_CODE_BY_TYPE = {
    "missing": "MISSING_REQUIRED",
    "extra_forbidden": "UNKNOWN_KEY",
    "literal_error": "NOT_ALLOWED",
    "enum": "NOT_ALLOWED",
    "union_tag_invalid": "UNKNOWN_KIND",
    "union_tag_not_found": "MISSING_KIND",
    "too_short": "TOO_SHORT",
    "string_too_short": "TOO_SHORT",
    "string_pattern_mismatch": "BAD_NAME",
    "value_error": "BAD_VALUE",
    "assertion_error": "BAD_VALUE",
}


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def _union_members(tp: Any) -> list[type[BaseModel]]:
    if get_origin(tp) in (Union, types.UnionType):
        return [
            m
            for m in (_unwrap(a) for a in get_args(tp))
            if isinstance(m, type) and issubclass(m, BaseModel)
        ]
    return []


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("kind")
    if field is None:
        return None
    tp = _unwrap(field.annotation)
    if get_origin(tp) is Literal:
        return str(get_args(tp)[0])
    return None


@functools.lru_cache(maxsize=4096)
def walk(root: Any, loc: Loc) -> tuple[Loc, Any]:
    """Strip discriminator tags from ``loc``; also return the type found at its end (or None).

    Cached: a section with thousands of unknown keys walks the same parent for each of them.
    """
    doc_loc: list[str | int] = []
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp) if tp is not None else None
        members = _union_members(tp)
        if members:
            chosen = next((m for m in members if _tag_of(m) == part), None)
            if chosen is not None:
                tp = chosen
                continue
        doc_loc.append(part)
        if tp is None:
            continue
        origin = get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part) if isinstance(part, str) else None
            tp = field.annotation if field is not None else None
        elif origin in (list, tuple) or origin is typing.Sequence:
            tp = get_args(tp)[0] if isinstance(part, int) else None
        elif origin is dict:
            tp = get_args(tp)[1]
        else:
            tp = None
    return tuple(doc_loc), (_unwrap(tp) if tp is not None else None)


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _cut_values(msg: str, ctx: dict[str, Any]) -> str:
    """``msg`` with the long text values it quotes from ``ctx`` cut: a check's message
    (``'{value}' is not a duration``) must not echo a 50 MB value whole."""
    for value in ctx.values():
        if isinstance(value, str) and len(value) > SHOWN_CHARS and value in msg:
            msg = msg.replace(value, shorten(value))
    return msg


def _type_name(tp: Any) -> str:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"a mapping ({tp.__name__})"
    members = _union_members(tp)
    if members:  # variants by `kind`: their names, not their module paths
        return f"a mapping ({' | '.join(m.__name__ for m in members)})"
    origin = get_origin(tp)
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return "a mapping"
    if origin is Literal:
        return " | ".join(str(a) for a in get_args(tp))
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def problems_from_validation_error(
    exc: ValidationError, doc: Document, root: Any, prefix: Loc = ()
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, located through ``doc``'s positions.

    Args:
        exc: the pydantic error.
        doc: positions of the document the data came from.
        root: the model (or type) that was validated.
        prefix: where that data sits in the document (``("executors", 0, "params")``).
    """
    # Unknown keys per mapping: past MAX_LISTED of them the mapping is no typo, and the
    # suggestion (difflib against every valid key) is not worth its cost.
    unknown_in: Counter[Loc] = Counter()
    return [
        _problem(error, doc, root, prefix, unknown_in) for error in exc.errors(include_url=False)
    ]


def _problem(
    error: ErrorDetails, doc: Document, root: Any, prefix: Loc, unknown_in: Counter[Loc]
) -> Problem:
    etype = error["type"]
    ctx = error.get("ctx") or {}
    rel, _ = walk(root, tuple(error["loc"]))
    loc = (*prefix, *rel)
    if etype in CODES and "found_text" in ctx:  # a section check's problem, as written
        return doc.problem(
            etype, ctx["message"], loc, ctx["found_text"], ctx["allowed"], ctx.get("example"),
            key=bool(ctx["key"]),
        )  # fmt: skip
    # A value that may hold a secret (a store URL's password) is shown as its ctx gives it.
    found = _show(ctx["shown"] if "shown" in ctx else error.get("input"))
    code, allowed, msg = _classified(etype, _cut_values(error["msg"], ctx), ctx, found)
    if code == "MISSING_REQUIRED":
        _, field_type = walk(root, tuple(error["loc"]))
        allowed = _type_name(field_type) if field_type is not None else "a value"
        missing = doc.problem(code, f"required key `{rel[-1]}` is missing", loc, "nothing", allowed)
        # Point at the mapping that lacks the key (its own key, like `decoding:`).
        where = doc.position(loc[:-1], key=True) if loc[:-1] else missing
        return replace(missing, line=where.line, column=where.column, file=where.file)
    if code == "UNKNOWN_KEY":
        _, parent_type = walk(root, tuple(error["loc"])[:-1])
        valid = (
            sorted(parent_type.model_fields)
            if isinstance(parent_type, type) and issubclass(parent_type, BaseModel)
            else []
        )
        key = str(rel[-1])
        unknown_in[loc[:-1]] += 1
        close = close_match(key, valid) if unknown_in[loc[:-1]] <= MAX_LISTED else None
        hint = f"; did you mean `{close}`?" if close else ""
        allowed = "one of: " + ", ".join(valid) if valid else "no other keys"
        message = f"unknown key `{shorten(key)}`{hint}"
        return doc.problem(code, message, loc, shorten(key), allowed, close, key=True)
    if code in ("UNKNOWN_KIND", "MISSING_KIND"):
        _, union = walk(root, tuple(error["loc"]))
        allowed = ", ".join(str(_tag_of(m)) for m in _union_members(union))
        if code == "UNKNOWN_KIND":
            value = error.get("input")
            found = _show(value.get("kind") if isinstance(value, dict) else value)
            msg = f"unknown kind {found}; allowed: {allowed}"
            loc = (*loc, "kind")
        else:
            msg = f"`kind` is missing; give one of: {allowed}"
    elif code == "NOT_ALLOWED":
        allowed = str(ctx.get("expected", allowed)).replace("'", "")
        msg = f"{found} is not allowed; use one of: {allowed}"
    elif code == "TOO_SHORT":
        least = ctx.get("min_length", 1)
        allowed = f"at least {least} item{'s' if least != 1 else ''}"
        msg = "must not be empty" if least == 1 else f"needs {allowed}"
    elif code == "BAD_VALUE" and etype == "value_error":
        msg = msg.removeprefix("Value error, ")
    return doc.problem(code, msg, loc, found, allowed, ctx.get("example"))


def _classified(etype: str, msg: str, ctx: dict[str, Any], found: str) -> tuple[str, str, str]:
    """(code, allowed, message) of a pydantic error type."""
    if etype in CODES:
        return etype, str(ctx.get("allowed", "")), msg
    if etype in ("dict_type", "model_type", "model_attributes_type"):
        return "WRONG_TYPE", "a mapping", f"expected a mapping (key: value), found {found}"
    if etype in _TYPE_ERRORS:
        allowed = msg.removeprefix("Input should be ").split(",")[0]
        allowed = allowed.removeprefix("a valid ").removeprefix("an instance of ")
        if not allowed.startswith(("a ", "an ")):
            allowed = ("an " if allowed[:1] in "aeiou" else "a ") + allowed
        return "WRONG_TYPE", allowed, f"expected {allowed}, found {found}"
    if etype in _RANGE_ERRORS:
        allowed = msg.removeprefix("Input should be ")
        return "OUT_OF_RANGE", allowed, f"{found} is out of range: must be {allowed}"
    return _CODE_BY_TYPE.get(etype, "BAD_VALUE"), msg.removeprefix("Input should be "), msg
