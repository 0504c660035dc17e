"""The JVM-free Spark DDL parser: what it accepts, how it renders, how it points at mistakes."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from spark_enrich.config.ddl import (
    ArrayType,
    AtomicType,
    DDLError,
    DecimalType,
    MapType,
    StructField,
    StructType,
    parse_schema,
    parse_type,
    read_ddl,
)
from spark_enrich.config.ddl_usage import DDLSchemaStr, DDLTypeStr


@pytest.mark.parametrize(
    ("ddl", "simple"),
    [
        ("STRING", "string"),
        ("string", "string"),
        ("varchar(10)", "varchar(10)"),  # Spark 4.2 keeps VarcharType(10)
        ("INT", "int"),
        ("INTEGER", "int"),
        ("BIGINT", "bigint"),
        ("LONG", "bigint"),
        ("SMALLINT", "smallint"),
        ("TINYINT", "tinyint"),
        ("DOUBLE", "double"),
        ("FLOAT", "float"),
        ("BOOLEAN", "boolean"),
        ("DATE", "date"),
        ("TIMESTAMP", "timestamp"),
        ("TIMESTAMP_NTZ", "timestamp_ntz"),
        ("BINARY", "binary"),
        ("DECIMAL", "decimal(10,0)"),
        ("decimal(12)", "decimal(12,0)"),
        ("DECIMAL(38, 18)", "decimal(38,18)"),
        ("array<string>", "array<string>"),
        ("ARRAY<ARRAY<INT>>", "array<array<int>>"),
        ("map<string, bigint>", "map<string,bigint>"),
        ("MAP<STRING, ARRAY<DECIMAL(5,2)>>", "map<string,array<decimal(5,2)>>"),
        ("struct<a: int, b string>", "struct<a:int,b:string>"),
        ("STRUCT<>", "struct<>"),
        (
            "struct<`odd name`: int, inner: struct<x: double>>",
            "struct<odd name:int,inner:struct<x:double>>",
        ),
    ],
)
def test_types_parse_and_render_spark_simple_string(ddl: str, simple: str) -> None:
    parsed = parse_type(ddl)
    assert parsed.simple_string() == simple
    # DDL rendering round-trips to the same tree.
    assert parse_type(parsed.ddl()) == parsed


def test_the_tree_is_typed() -> None:
    parsed = parse_type("map<string, struct<id: bigint NOT NULL COMMENT 'the id'>>")
    assert parsed == MapType(
        AtomicType("string"),
        StructType((StructField("id", AtomicType("bigint"), nullable=False, comment="the id"),)),
    )
    assert parse_type("array<decimal(4,1)>") == ArrayType(DecimalType(4, 1))


def test_column_lists_keep_order_nullability_and_backticked_names() -> None:
    schema = parse_schema("event_id STRING NOT NULL, `user id` STRING, tags ARRAY<STRING>")
    assert schema.names() == ["event_id", "user id", "tags"]
    assert [f.nullable for f in schema.fields] == [False, True, True]
    assert schema.column_list() == "event_id STRING NOT NULL, `user id` STRING, tags ARRAY<STRING>"
    assert parse_schema(schema.column_list()) == schema
    assert schema.field("EVENT_ID") is schema.fields[0]  # Spark resolves names case-insensitively
    assert schema.field("missing") is None


@pytest.mark.parametrize(
    ("ddl", "position", "reason"),
    [
        ("STRNG", 0, "unknown type 'STRNG'; did you mean STRING?"),
        ("array<string", 12, "expected '>', found the end"),
        ("map<string>", 10, "expected ',', found '>'"),
        ("decimal(39,2)", 0, "decimal precision 39 is not in 1..38"),
        ("decimal(5,6)", 0, "decimal scale 6 is larger than its precision 5"),
        ("struct<a int, b int, a string>", 21, "duplicate field name 'a'"),
        ("struct<a int, A string>", 14, "duplicate field name 'A'"),
        ("int int", 4, "unexpected 'int' after the end of the type"),
        ("array<>", 6, "expected a type, found '>'"),
        ("string NOT NULL", 7, "unexpected 'NOT' after the end of the type"),
        ("struct<`a int>", 7, "unterminated backticked name"),
        ("int;", 3, "unexpected character ';'"),
    ],
)
def test_type_errors_say_what_and_where(ddl: str, position: int, reason: str) -> None:
    with pytest.raises(DDLError) as info:
        parse_type(ddl)
    assert info.value.reason == reason
    assert info.value.position == position


@pytest.mark.parametrize(
    ("ddl", "reason"),
    [
        ("", "empty schema: expected at least one column, like 'id STRING'"),
        ("id", "expected a type, found the end"),
        ("id STRING,", "expected a field name, found the end"),
        ("id STRING, ID INT", "duplicate field name 'ID'"),
        ("id STRING NOT", "expected NULL after NOT, found the end"),
        ("id STRING COMMENT", "expected a quoted comment, found the end"),
    ],
)
def test_schema_errors(ddl: str, reason: str) -> None:
    with pytest.raises(DDLError) as info:
        parse_schema(ddl)
    assert info.value.reason == reason


@pytest.mark.parametrize("ddl", ["varchar", "char", "timestamp(3)", "int(10)", "a int NULL"])
def test_what_spark_rejects_is_rejected(ddl: str) -> None:
    # The old parser read `varchar` and `char` without a length as string; Spark 4.2 refuses.
    with pytest.raises(DDLError):
        read_ddl(ddl)


@pytest.mark.parametrize(
    ("ddl", "reason"),
    [
        ("interval day", "interval day is an interval type: a Delta table cannot store intervals"),
        ("array<interval year to month>", "interval year to month is an interval type"),
        ("void", "void (NullType) columns cannot be written to a Delta table"),
        ("time(3)", "time(3): Spark 4.2 cannot cast to or store TIME values yet"),
        ("string collate UTF8_LCASE", "delta-spark 4.4 does not store collated strings"),
        ("struct<g: geometry(4326)>", "geospatial"),
        ("decimal(0)", "decimal precision 0 is not in 1..38"),
    ],
)
def test_output_columns_refuse_types_spark_parses_but_delta_cannot_store(
    ddl: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(DDLTypeStr).validate_python(ddl)
    (error,) = info.value.errors()
    assert error["type"] == "UNSUPPORTED_TYPE"
    assert reason in error["msg"]


@pytest.mark.parametrize("ddl", ["varchar(10)", "char(3)", "variant", "timestamp_ltz"])
def test_output_columns_take_the_types_delta_stores(ddl: str) -> None:
    assert TypeAdapter(DDLTypeStr).validate_python(ddl) == ddl


def test_schemas_refuse_what_from_json_cannot_read_and_take_the_rest() -> None:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(DDLSchemaStr).validate_python("id STRING, code CHAR(3)")
    assert info.value.errors()[0]["type"] == "UNSUPPORTED_TYPE"
    assert "from_json cannot read char/varchar" in info.value.errors()[0]["msg"]
    for legacy in ("id: string, n: int", "struct<id: string, n: int>", "id string, v variant"):
        assert TypeAdapter(DDLSchemaStr).validate_python(legacy) == legacy
    with pytest.raises(ValidationError) as info:
        TypeAdapter(DDLSchemaStr).validate_python("int")
    assert info.value.errors()[0]["type"] == "BAD_DDL"
