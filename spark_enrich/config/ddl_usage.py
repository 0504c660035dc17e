"""Where each Spark type can go: DDL values of the configuration, checked before any job runs.

Spark parses more types than the engine can use in a given place. An output column is cast
with ``try_cast`` and stored in Delta; a raw-event or response schema is read with
``from_json``. A type Spark parses but that place cannot take is refused with
``UNSUPPORTED_TYPE`` and the reason, instead of failing the first batch (each refusal below
was seen failing on pyspark 4.2 with delta-spark 4.4). A text Spark does not parse is
``BAD_DDL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from spark_enrich.config.ddl import (
    ArrayType,
    AtomicType,
    DataType,
    DDLError,
    DecimalType,
    MapType,
    StructType,
    parse_schema,
    parse_type,
)

__all__ = ["DDLSchemaStr", "DDLTypeStr", "input_problem", "output_problem"]

_TYPE_ALLOWED = (
    "a Spark DDL type: string, int, bigint, double, boolean, date, timestamp, decimal(p,s), "
    "array<T>, map<K,V>, struct<name: T, ...>"
)


def _leaves(data_type: DataType) -> Iterator[AtomicType | DecimalType]:
    if isinstance(data_type, ArrayType):
        yield from _leaves(data_type.element)
    elif isinstance(data_type, MapType):
        yield from _leaves(data_type.key)
        yield from _leaves(data_type.value)
    elif isinstance(data_type, StructType):
        for f in data_type.fields:
            yield from _leaves(f.type)
    else:
        yield data_type


def _geo(name: str) -> str | None:
    if name.startswith(("geometry(", "geography(")):
        return "delta-spark 4.4 and from_json do not support geospatial types"
    return None


def output_problem(data_type: DataType) -> str | None:
    """Why a Delta output column cannot have ``data_type``; None when it can."""
    for leaf in _leaves(data_type):
        if isinstance(leaf, DecimalType):
            if leaf.precision == 0:
                return "decimal precision 0 is not in 1..38: Delta cannot store it"
            continue
        name = leaf.name
        reason = _geo(name)
        if name.startswith("interval"):
            reason = f"{name} is an interval type: a Delta table cannot store intervals"
        elif name == "void":
            reason = "void (NullType) columns cannot be written to a Delta table"
        elif name.startswith("time("):
            reason = f"{name}: Spark 4.2 cannot cast to or store TIME values yet"
        elif " collate " in name:
            reason = f"{name}: delta-spark 4.4 does not store collated strings"
        if reason:
            return reason
    return None


def input_problem(data_type: DataType) -> str | None:
    """Why ``from_json`` cannot read a field of ``data_type``; None when it can."""
    for leaf in _leaves(data_type):
        if isinstance(leaf, AtomicType):
            if leaf.name.startswith(("char(", "varchar(")):
                return f"{leaf.name}: from_json cannot read char/varchar fields; use string"
            reason = _geo(leaf.name)
            if reason:
                return reason
    return None


def _unsupported(value: str, reason: str, allowed: str, example: str) -> PydanticCustomError:
    return PydanticCustomError(
        "UNSUPPORTED_TYPE",
        "Spark parses this type, but {reason}",
        {"reason": reason, "value": value, "allowed": allowed, "example": example},
    )


def _bad_ddl(
    exc: DDLError, value: str, what: str, allowed: str, example: str
) -> PydanticCustomError:
    """``BAD_DDL``: a ``what`` (type or schema) text Spark does not parse, where and why."""
    return PydanticCustomError(
        "BAD_DDL",
        "{reason} at character {position} of the " + what,
        {
            "reason": exc.reason,
            "position": exc.position + 1,
            "value": value,
            "allowed": allowed,
            "example": example,
        },
    )


def _ddl_type(value: str) -> str:
    try:
        parsed = parse_type(value)
    except DDLError as exc:
        raise _bad_ddl(exc, value, "type", _TYPE_ALLOWED, "array<string>") from None
    reason = output_problem(parsed)
    if reason:
        raise _unsupported(value, reason, "a type a Delta table stores", "bigint")
    return value


def _ddl_schema(value: str) -> str:
    try:
        parsed = parse_schema(value)
    except DDLError as exc:
        raise _bad_ddl(
            exc,
            value,
            "schema",
            "a Spark DDL column list: name TYPE [NOT NULL], ...",
            "event_id STRING NOT NULL, dwell_ms BIGINT",
        ) from None
    reason = input_problem(parsed)
    if reason:
        raise _unsupported(value, reason, "types from_json reads", "event_id STRING, n BIGINT")
    return value


DDLTypeStr = Annotated[str, AfterValidator(_ddl_type)]
"""A Spark DDL data type such as ``array<string>`` that a Delta output column can have."""

DDLSchemaStr = Annotated[str, AfterValidator(_ddl_schema)]
"""A Spark DDL column list such as ``id STRING NOT NULL, n INT`` that ``from_json`` reads."""
