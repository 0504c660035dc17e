"""A JVM-free parser for Spark SQL DDL types and column lists that agrees with Spark 4.2.

``validate`` must check a raw-event schema and the output contract's column types in
milliseconds, before any Spark job starts, so this module follows Spark's grammar
(``SqlBaseParser.g4``: ``dataType``, ``colTypeList``) with a small recursive-descent parser
instead of asking Spark. :func:`read_ddl` accepts what ``DataType.fromDDL`` accepts and gives the
same type; a test holds the two together over a corpus. :func:`parse_type` and
:func:`parse_schema` add what the engine needs on top (unique, non-empty field names; a column
list), see :mod:`~spark_enrich.config.ddl_usage` for the types each use can take.

Example:
    >>> parse_type("map<string, array<decimal(10,2)>>").simple_string()
    'map<string,array<decimal(10,2)>>'
    >>> [f.name for f in parse_schema("id STRING NOT NULL, n INT").fields]
    ['id', 'n']
"""

from __future__ import annotations

from spark_enrich.config.ddl_lexer import DDLError, tokenise
from spark_enrich.config.ddl_parser import Parser
from spark_enrich.config.ddl_tree import (
    ArrayType,
    AtomicType,
    DataType,
    DecimalType,
    MapType,
    StructField,
    StructType,
)

__all__ = [
    "ArrayType",
    "AtomicType",
    "DDLError",
    "DataType",
    "DecimalType",
    "MapType",
    "StructField",
    "StructType",
    "parse_schema",
    "parse_type",
    "read_ddl",
    "read_schema",
    "read_type",
]


def _read_type(text: str) -> tuple[DataType, dict[int, int]]:
    parser = Parser(text, tokenise(text))
    result = parser.data_type()
    parser.end()
    return result, parser.name_pos


def _read_schema(text: str) -> tuple[StructType, dict[int, int]]:
    parser = Parser(text, tokenise(text))
    if parser.tok.kind == "end":
        raise parser.fail("empty schema: expected at least one column, like 'id STRING'")
    fields = [parser.field(struct=False)]
    while parser.accept(","):
        fields.append(parser.field(struct=False))
    parser.end()
    return StructType(tuple(fields)), parser.name_pos


_SPACES = "".join(chr(c) for c in range(33))  # Scala's String.trim drops chars <= ' '


def _read_ddl(text: str) -> tuple[DataType, dict[int, int]]:
    try:
        return _read_schema(text)
    except DDLError as first:
        try:
            return _read_type(text)
        except DDLError:
            pass
        body = text.strip(_SPACES)
        shift = len("struct<") - (len(text) - len(text.lstrip(_SPACES)))
        try:
            result, positions = _read_type(f"struct<{body}>")
        except DDLError:
            raise first from None
        return result, {key: max(pos - shift, 0) for key, pos in positions.items()}


def read_type(text: str) -> DataType:
    """One data type as Spark's ``parseDataType`` reads it, e.g. ``"array<struct<a: int>>"``.

    Raises:
        DDLError: Spark does not read ``text`` as a data type; ``position`` points at the problem.
    """
    return _read_type(text)[0]


def read_schema(text: str) -> StructType:
    """A column list as Spark's ``StructType.fromDDL`` reads it, e.g. ``"id STRING NOT NULL"``.

    Raises:
        DDLError: Spark does not read ``text`` as a column list.
    """
    return _read_schema(text)[0]


def read_ddl(text: str) -> DataType:
    """What ``pyspark.sql.types.DataType.fromDDL(text)`` returns, without a JVM.

    Spark tries a column list, then a data type, then ``struct<text>`` (the legacy
    ``a: int, b: string`` form); when all three fail, the column list's error is raised.

    Raises:
        DDLError: ``DataType.fromDDL`` rejects ``text``.
    """
    return _read_ddl(text)[0]


def _check_fields(text: str, data_type: DataType, positions: dict[int, int]) -> None:
    """Field names the engine can resolve: non-empty and unique case-insensitively (Spark
    parses ``struct<a int, A int>``, but a reference to column ``a`` would be ambiguous)."""
    if isinstance(data_type, ArrayType):
        _check_fields(text, data_type.element, positions)
    elif isinstance(data_type, MapType):
        _check_fields(text, data_type.key, positions)
        _check_fields(text, data_type.value, positions)
    elif isinstance(data_type, StructType):
        seen: set[str] = set()
        for f in data_type.fields:
            where = positions.get(id(f), 0)
            if not f.name:
                raise DDLError(text, where, "empty backticked name")
            if f.name.lower() in seen:
                raise DDLError(text, where, f"duplicate field name {f.name!r}")
            seen.add(f.name.lower())
            _check_fields(text, f.type, positions)


def parse_type(text: str) -> DataType:
    """Parse one Spark DDL data type, e.g. ``"array<struct<a: int, b: string>>"``.

    Raises:
        DDLError: the text is not a data type, or a struct has an empty or repeated field name;
            ``position`` points at the problem.
    """
    result, positions = _read_type(text)
    _check_fields(text, result, positions)
    return result


def parse_schema(text: str) -> StructType:
    """Parse a Spark DDL column list, e.g. ``"id STRING NOT NULL, tags ARRAY<STRING>"``.

    Accepts what ``DataType.fromDDL`` reads as a struct with at least one field: ``a INT``,
    the legacy ``a: INT`` and ``struct<a: INT>``.

    Raises:
        DDLError: the text is not a column list, or a column name is empty or repeats
            (case-insensitive).
    """
    result, positions = _read_ddl(text)
    if not isinstance(result, StructType):
        raise DDLError(text, 0, f"expected a column list like 'value {text.strip()}', found a type")
    if not result.fields:
        raise DDLError(text, 0, "empty schema: expected at least one column, like 'id STRING'")
    _check_fields(text, result, positions)
    return result
