"""The JVM-free DDL parser agrees with Spark: same accept/reject, same type, over a corpus.

The corpus is generated systematically (every type keyword in every position, every interval
range, decimal/char/time/geo parameters at and past their limits, collation spellings, field
syntaxes, nesting, and every prefix of long valid strings) plus hand-picked edge cases. Each
string goes to ``pyspark.sql.types.DataType.fromDDL`` (pyspark 4.2, a real JVM) and to
:func:`read_ddl`; accepting, rejecting and the resulting type must match.
"""

from __future__ import annotations

import itertools

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from spark_enrich.config.ddl import (
    ArrayType,
    AtomicType,
    DataType,
    DDLError,
    DecimalType,
    MapType,
    StructField,
    StructType,
    parse_schema,
    parse_type,
    read_ddl,
)
from spark_enrich.config.ddl_parser import TYPE_KEYWORDS

_LEAVES = [
    "string", "int", "integer", "bigint", "long", "smallint", "short", "tinyint", "byte",
    "float", "real", "double", "boolean", "date", "timestamp", "timestamp_ltz", "timestamp_ntz",
    "binary", "void", "variant", "interval", "decimal", "dec", "numeric", "char", "character",
    "varchar", "time", "geometry", "geography", "array", "map", "struct", "bool", "text",
    "datetime", "null", "uuid", "json", "number", "STRING", "Int", "bigINT",
]  # fmt: skip
_SIMPLE = ["string", "int", "bigint", "double", "boolean", "date", "timestamp", "decimal(10,2)"]
_UNITS = ["YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "WEEK", "year"]
_COLLATIONS = [
    "UTF8_BINARY", "UTF8_LCASE", "utf8_lcase", "UTF8_BINARY_RTRIM", "UTF8_LCASE_RTRIM",
    "UTF8_BINARY_CI", "UTF8_LCASE_AI", "UTF8_BINARY_CS", "UTF8", "UNICODE", "unicode",
    "UNICODE_CI", "UNICODE_AI", "UNICODE_CI_AI", "UNICODE_AI_CI", "UNICODE_CS", "UNICODE_AS",
    "UNICODE_CS_AS", "UNICODE_CI_CS", "UNICODE_RTRIM", "UNICODE_CI_AI_RTRIM",
    "UNICODE_RTRIM_CI", "UNICODE_RTRIM_RTRIM", "UNICODE_XX", "en", "EN", "en_USA", "en_usa",
    "en_US", "en_CI", "en_USA_CI_AI", "de", "de_AUT", "sr_Cyrl_SRB", "sr_cyrl_srb_ci",
    "sr_Cyrl", "sr_SRB", "zh_Hant_TWN", "zh_Hant", "zh", "xx", "en_", "_en",
    "system.builtin.UTF8_LCASE", "SYSTEM.BUILTIN.unicode", "builtin.UTF8_LCASE",
    "system.UTF8_LCASE", "x.builtin.UTF8_LCASE", "`UTF8_LCASE`", "'UTF8_LCASE'",
]  # fmt: skip
_NAMES = ["a", "A1", "_x", "1a", "`a b`", "`a.b`", "`a``b`", "``", "select", "int", "1", "a-b"]
_LONG_VALID = [
    "a struct<b: array<map<string, decimal(10,2)>> NOT NULL COMMENT 'x'>, c int",
    "id STRING NOT NULL COMMENT 'the id', tags ARRAY<STRING>, m MAP<STRING, INTERVAL DAY TO "
    "SECOND>",
    "struct<`odd name`: varchar(10) collate UTF8_LCASE, t: timestamp without time zone>",
    "a: int, b: array<struct<c: time(3), d: geometry(4326)>>",
    "map<string collate UNICODE_CI, array<char(3)>>",
]
_EDGE_CASES = [
    "", " ", "  int  ", "a int,", ",a int", "a int,,b int", "a int b int", "a int; b int",
    "a", "a:", ": int", "a int NOT NULL", "a int ! NULL", "a int NULL", "a int NOT", "int NOT NULL",
    "a int NOT NULL COMMENT 'x'", "a int COMMENT 'x' NOT NULL", "a int NOT NULL NOT NULL",
    "a int COMMENT 'x' 'y'", "a int COMMENT 'it''s'", "a int COMMENT \"dq\"",
    "a int COMMENT 'a\\tb\\u0041\\n\\101'", "a int COMMENT R'raw\\n'", "a int COMMENT r\"r\\\"",
    "a int COMMENT", "a int COMMENT 1", "a int COMMENT 'x", "a int -- comment",
    "a int /* c */, b int", "a int /* /* nested */ */", "a int /* open", "a\tint", "a\nint",
    "a int, comment int", "a int, b int comment 'x', c int", "struct<>", "struct < >",
    "struct<", "struct<a>", "struct<a:>", "struct<a int,>", "struct<,a int>", "struct<a int>>",
    "array<>", "array<int", "array<int>>", "array int", "map<int>", "map<int,>", "map<,int>",
    "map<int,int,int>", "map<int,int>>", "map<int,map<int,int>>", "array<array<array<int>>>",
    "struct<a:int>, b int", "struct<a: int> , b int", "a int, struct<b:int>", "int, string",
    "a int, A int", "struct<a int, A int>", "a int, a int", "`` int", "é int", "a$ int",
    "a.b int", "a-b int", "a/b int", "10L int", "1e1 int", "1.5 int", "1d int", "1e int",
    "decimal(1e1)", "decimal(10L)", "decimal(1.5)", "decimal(-1)", "decimal(+1)", "decimal()",
    "decimal(,2)", "decimal(2,)", "decimal(05,02)", "decimal( 5 , 2 )", "decimal(10,2,3)",
    "int(10)", "string(10)", "bigint(10)", "binary(10)", "array<int>(3)", "double precision",
    "timestamp with time zone", "timestamp with local time zone", "timestamp without time zone",
    "timestamp without", "timestamp with local", "time with time zone", "time without time zone",
    "time(3) without time zone", "timestamp(3)", "timestamp_ntz(6)", "timestamp_ltz(6)",
    "interval day to", "interval to second", "interval day second", "char(3) collate UTF8_LCASE",
    "varchar(3) collate nope", "string collate", "string collate 1", "a string collate UTF8_LCASE "
    "not null comment 'x'", "a int!NULL", "a int != NULL", "STRUCT<A:INT>", "Array < Int >",
    "geometry(ANY)", "geography(any)", "geometry", "geometry()", "geometry(4326, 1)",
    "a: int, b: string", "a:int,b:string", " a : int ", "a: int not null", "int,", "string int",
]  # fmt: skip


def _prefixes(text: str) -> list[str]:
    return [text[:i] for i in range(len(text) + 1)]


def corpus() -> list[str]:
    """Several hundred DDL strings, valid and invalid."""
    strings: list[str] = list(_EDGE_CASES)
    for leaf in [*_LEAVES, *TYPE_KEYWORDS]:
        strings += [leaf, f"{leaf}(1)", f"{leaf}(10, 2)", f"array<{leaf}>", f"map<{leaf}, int>"]
        strings += [f"c {leaf}", f"c: {leaf}", f"c {leaf} NOT NULL", f"struct<c: {leaf}>"]
    for start, end in itertools.product(_UNITS, [None, *_UNITS]):
        strings.append(f"interval {start}" + (f" to {end}" if end else ""))
    for precision, scale in itertools.product(
        ["0", "1", "10", "38", "39", "2147483647", "2147483648"], [None, "0", "1", "38", "39"]
    ):
        strings.append(f"decimal({precision}" + (f", {scale})" if scale else ")"))
    for kind, length in itertools.product(["char", "varchar", "character"], ["0", "1", "255"]):
        strings += [f"{kind}({length})", f"c {kind}({length}) collate UNICODE_CI"]
    strings += ["varchar(2147483647)", "varchar(2147483648)", "char(-1)"]
    strings += [f"time({p})" for p in range(10)]
    for kind, srid in itertools.product(["geometry", "geography"], ["0", "1", "3857", "4326"]):
        strings.append(f"{kind}({srid})")
    strings += [f"string collate {name}" for name in _COLLATIONS]
    strings += [f"c varchar(5) collate {name}" for name in _COLLATIONS[:12]]
    for name, colon, suffix in itertools.product(
        _NAMES, ["", ":"], ["", " NOT NULL", " COMMENT 'c'", " NOT NULL COMMENT 'c'"]
    ):
        strings += [f"{name}{colon} int{suffix}", f"struct<{name}{colon} int{suffix}>"]
    for depth in range(1, 5):
        for inner in _SIMPLE:
            strings.append("array<" * depth + inner + ">" * depth)
            strings.append("map<string, " * depth + inner + ">" * depth)
            strings.append("struct<x: " * depth + inner + ">" * depth)
    for count in range(1, 4):
        columns = [f"c{i} {t}" for i, t in enumerate(_SIMPLE[::-1][:count])]
        strings += [
            ", ".join(columns),
            ",".join(columns),
            ", ".join(c.replace(" ", ": ") for c in columns),
        ]
    for text in _LONG_VALID:
        strings += _prefixes(text)
    return list(dict.fromkeys(strings))


def _tree(data_type: T.DataType) -> DataType:
    """Spark's type as the parser's tree; other field metadata than a comment is kept visible."""
    if isinstance(data_type, T.StructType):
        fields = []
        for f in data_type.fields:
            extra = {k: v for k, v in f.metadata.items() if k != "comment"}
            name = f.name if not extra else f"{f.name} with metadata {extra}"
            fields.append(
                StructField(name, _tree(f.dataType), f.nullable, f.metadata.get("comment"))
            )
        return StructType(tuple(fields))
    if isinstance(data_type, T.ArrayType):
        return ArrayType(_tree(data_type.elementType))
    if isinstance(data_type, T.MapType):
        return MapType(_tree(data_type.keyType), _tree(data_type.valueType))
    if isinstance(data_type, T.DecimalType):
        return DecimalType(data_type.precision, data_type.scale)
    return AtomicType(data_type.simpleString())


def _spark(text: str) -> DataType | None:
    try:
        return _tree(T.DataType.fromDDL(text))
    except Exception:  # ParseException, AnalysisException, Py4JJavaError: all mean "rejected"
        return None


def _ours(text: str) -> DataType | None:
    try:
        return read_ddl(text)
    except DDLError:
        return None


def test_the_corpus_is_large_and_mixed() -> None:
    strings = corpus()
    accepted = [s for s in strings if _ours(s) is not None]
    assert len(strings) >= 500
    assert 0.3 * len(strings) < len(accepted) < 0.8 * len(strings)


def test_read_ddl_agrees_with_spark_from_ddl(spark: SparkSession) -> None:
    disagreements = []
    for text in corpus():
        expected, got = _spark(text), _ours(text)
        if expected != got:
            disagreements.append(f"{text!r}: Spark {expected}, ours {got}")
    assert not disagreements, f"{len(disagreements)} disagreements:\n" + "\n".join(disagreements)


def test_what_the_engine_accepts_spark_reads_as_the_same_type(spark: SparkSession) -> None:
    for text in corpus():
        for parse in (parse_type, parse_schema):
            try:
                ours = parse(text)
            except DDLError:
                continue
            assert _spark(text) == ours, (parse.__name__, text)


@pytest.mark.parametrize(
    ("ddl", "simple"),
    [
        ("varchar(10)", "varchar(10)"),
        ("CHARACTER(3)", "char(3)"),
        ("variant", "variant"),
        ("interval day", "interval day"),
        ("INTERVAL HOUR TO SECOND", "interval hour to second"),
        ("interval", "interval"),
        ("string collate utf8_lcase", "string collate UTF8_LCASE"),
        ("string collate unicode_ai_ci", "string collate UNICODE_CI_AI"),
        ("string collate UTF8_BINARY", "string"),
        ("timestamp without time zone", "timestamp_ntz"),
        ("time", "time(6)"),
        ("geography(ANY)", "geography(any)"),
        ("decimal(0)", "decimal(0,0)"),
    ],
)
def test_types_spark_reads_that_the_old_parser_rejected_or_changed(ddl: str, simple: str) -> None:
    assert read_ddl(ddl).simple_string() == simple
