"""A JVM-free parser for Spark SQL DDL types and column lists.

``validate`` must check a raw-event schema and the output contract's column types in
milliseconds, before any Spark job starts, so this module parses the DDL subset spark-enrich
uses with a small recursive-descent parser instead of asking Spark. The result is a small typed
tree that renders Spark's ``simpleString`` (``array<string>``) and DDL (``ARRAY<STRING>``).

Example:
    >>> parse_type("map<string, array<decimal(10,2)>>").simple_string()
    'map<string,array<decimal(10,2)>>'
    >>> [f.name for f in parse_schema("id STRING NOT NULL, n INT").fields]
    ['id', 'n']
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

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
]

# DDL keyword -> Spark simpleString of the atomic type it names.
_ATOMIC: dict[str, str] = {
    "STRING": "string",
    "VARCHAR": "string",
    "CHAR": "string",
    "INT": "int",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "LONG": "bigint",
    "SMALLINT": "smallint",
    "SHORT": "smallint",
    "TINYINT": "tinyint",
    "BYTE": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "float",
    "REAL": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_LTZ": "timestamp",
    "TIMESTAMP_NTZ": "timestamp_ntz",
    "BINARY": "binary",
}
_DECIMAL = ("DECIMAL", "DEC", "NUMERIC")
_COMPLEX = ("ARRAY", "MAP", "STRUCT")
TYPE_KEYWORDS: tuple[str, ...] = (*_ATOMIC, *_DECIMAL, *_COMPLEX)
_MAX_PRECISION = 38
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class DDLError(ValueError):
    """A DDL string does not parse.

    Attributes:
        text: the DDL string.
        position: 0-based character offset of the problem in ``text``.
        reason: what is wrong, without the position.
    """

    def __init__(self, text: str, position: int, reason: str) -> None:
        super().__init__(f"{reason} (at character {position + 1} of {text!r})")
        self.text = text
        self.position = position
        self.reason = reason


def _quote(name: str) -> str:
    return name if _PLAIN_NAME.match(name) else "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class AtomicType:
    """A type without parameters; ``name`` is its simpleString (``string``, ``bigint``...)."""

    name: str

    def simple_string(self) -> str:
        """Spark's ``DataType.simpleString``."""
        return self.name

    def ddl(self) -> str:
        """Spark's DDL spelling."""
        return self.name.upper()


@dataclass(frozen=True)
class DecimalType:
    """``DECIMAL(precision, scale)``."""

    precision: int = 10
    scale: int = 0

    def simple_string(self) -> str:
        """Spark's ``DataType.simpleString``."""
        return f"decimal({self.precision},{self.scale})"

    def ddl(self) -> str:
        """Spark's DDL spelling."""
        return f"DECIMAL({self.precision},{self.scale})"


@dataclass(frozen=True)
class ArrayType:
    """``ARRAY<element>``."""

    element: DataType

    def simple_string(self) -> str:
        """Spark's ``DataType.simpleString``."""
        return f"array<{self.element.simple_string()}>"

    def ddl(self) -> str:
        """Spark's DDL spelling."""
        return f"ARRAY<{self.element.ddl()}>"


@dataclass(frozen=True)
class MapType:
    """``MAP<key, value>``."""

    key: DataType
    value: DataType

    def simple_string(self) -> str:
        """Spark's ``DataType.simpleString``."""
        return f"map<{self.key.simple_string()},{self.value.simple_string()}>"

    def ddl(self) -> str:
        """Spark's DDL spelling."""
        return f"MAP<{self.key.ddl()}, {self.value.ddl()}>"


@dataclass(frozen=True)
class StructField:
    """One named field of a struct or of a column list."""

    name: str
    type: DataType
    nullable: bool = True
    comment: str | None = None

    def ddl(self, sep: str = " ") -> str:
        """``name TYPE [NOT NULL] [COMMENT '...']``."""
        text = f"{_quote(self.name)}{sep}{self.type.ddl()}"
        if not self.nullable:
            text += " NOT NULL"
        if self.comment is not None:
            text += " COMMENT '" + self.comment.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return text


@dataclass(frozen=True)
class StructType:
    """``STRUCT<...>``, and also the result of :func:`parse_schema` (a column list)."""

    fields: tuple[StructField, ...] = ()

    def simple_string(self) -> str:
        """Spark's ``DataType.simpleString``."""
        inner = ",".join(f"{f.name}:{f.type.simple_string()}" for f in self.fields)
        return f"struct<{inner}>"

    def ddl(self) -> str:
        """Spark's DDL spelling of the struct type."""
        return "STRUCT<" + ", ".join(f.ddl(": ") for f in self.fields) + ">"

    def column_list(self) -> str:
        """The fields as a column list (the form ``spark.read.schema`` accepts)."""
        return ", ".join(f.ddl() for f in self.fields)

    def names(self) -> list[str]:
        """Field names in order."""
        return [f.name for f in self.fields]

    def field(self, name: str) -> StructField | None:
        """The field called ``name`` (case-insensitive, as Spark resolves columns), or None."""
        lowered = name.lower()
        return next((f for f in self.fields if f.name.lower() == lowered), None)


DataType = AtomicType | DecimalType | ArrayType | MapType | StructType

_TOKEN = re.compile(
    r"\s*(?:(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>\d+)|(?P<backtick>`(?:[^`]|``)*`)"
    r"|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<punct>[<>(),:]))"
)


@dataclass(frozen=True)
class _Token:
    kind: str  # ident | number | backtick | string | punct | end
    text: str
    pos: int


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            tokens.append(_Token("end", "", pos))
            return tokens
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            if text[pos] == "`":
                raise DDLError(text, pos, "unterminated backticked name")
            raise DDLError(text, pos, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenise(text)
        self.i = 0
        self.name_pos: dict[int, int] = {}

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, reason: str, token: _Token | None = None) -> DDLError:
        return DDLError(self.text, (token or self.tok).pos, reason)

    def found(self) -> str:
        return "the end" if self.tok.kind == "end" else repr(self.tok.text)

    def next(self) -> _Token:
        token = self.tok
        self.i += 1
        return token

    def accept(self, punct: str) -> bool:
        if self.tok.kind == "punct" and self.tok.text == punct:
            self.i += 1
            return True
        return False

    def expect(self, punct: str) -> None:
        if not self.accept(punct):
            raise self.fail(f"expected {punct!r}, found {self.found()}")

    def accept_word(self, word: str) -> bool:
        if self.tok.kind == "ident" and self.tok.text.upper() == word:
            self.i += 1
            return True
        return False

    def number(self) -> int:
        if self.tok.kind != "number":
            raise self.fail(f"expected a number, found {self.found()}")
        return int(self.next().text)

    def name(self) -> str:
        token = self.tok
        if token.kind == "ident":
            self.i += 1
            return token.text
        if token.kind == "backtick":
            self.i += 1
            name = token.text[1:-1].replace("``", "`")
            if not name:
                raise self.fail("empty backticked name", token)
            return name
        raise self.fail(f"expected a field name, found {self.found()}")

    def data_type(self) -> DataType:
        token = self.tok
        if token.kind != "ident":
            raise self.fail(f"expected a type, found {self.found()}")
        word = token.text.upper()
        self.i += 1
        if word in ("VARCHAR", "CHAR"):
            if self.accept("("):
                self.number()
                self.expect(")")
            return AtomicType("string")
        if word in _ATOMIC:
            return AtomicType(_ATOMIC[word])
        if word in _DECIMAL:
            return self.decimal(token)
        if word == "ARRAY":
            self.expect("<")
            element = self.data_type()
            self.expect(">")
            return ArrayType(element)
        if word == "MAP":
            self.expect("<")
            key = self.data_type()
            self.expect(",")
            value = self.data_type()
            self.expect(">")
            return MapType(key, value)
        if word == "STRUCT":
            self.expect("<")
            fields: list[StructField] = []
            if not self.accept(">"):
                fields.append(self.field(struct=True))
                while self.accept(","):
                    fields.append(self.field(struct=True))
                self.expect(">")
            return StructType(self.unique(fields))
        close = difflib.get_close_matches(word, TYPE_KEYWORDS, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise self.fail(f"unknown type {token.text!r}{hint}", token)

    def decimal(self, token: _Token) -> DecimalType:
        precision, scale = 10, 0
        if self.accept("("):
            precision = self.number()
            if self.accept(","):
                scale = self.number()
            self.expect(")")
        if not 1 <= precision <= _MAX_PRECISION:
            raise self.fail(f"decimal precision {precision} is not in 1..{_MAX_PRECISION}", token)
        if scale > precision:
            raise self.fail(
                f"decimal scale {scale} is larger than its precision {precision}", token
            )
        return DecimalType(precision, scale)

    def field(self, *, struct: bool) -> StructField:
        start = self.tok.pos
        name = self.name()
        if struct:
            self.accept(":")
        data_type = self.data_type()
        nullable = True
        comment = None
        while True:
            if self.accept_word("NOT"):
                if not self.accept_word("NULL"):
                    raise self.fail(f"expected NULL after NOT, found {self.found()}")
                nullable = False
            elif self.accept_word("COMMENT"):
                if self.tok.kind != "string":
                    raise self.fail(f"expected a quoted comment, found {self.found()}")
                raw = self.next().text[1:-1]
                comment = re.sub(r"\\(.)", r"\1", raw)
            else:
                result = StructField(name, data_type, nullable, comment)
                self.name_pos[id(result)] = start
                return result

    def unique(self, fields: list[StructField]) -> tuple[StructField, ...]:
        seen: set[str] = set()
        for f in fields:
            if f.name.lower() in seen:
                where = self.name_pos[id(f)]
                raise DDLError(self.text, where, f"duplicate field name {f.name!r}")
            seen.add(f.name.lower())
        return tuple(fields)

    def end(self) -> None:
        if self.tok.kind != "end":
            raise self.fail(f"unexpected {self.found()} after the end of the type")


def parse_type(text: str) -> DataType:
    """Parse one Spark DDL data type, e.g. ``"array<struct<a: int, b: string>>"``.

    Raises:
        DDLError: the text is not a data type; ``position`` points at the problem.
    """
    parser = _Parser(text)
    result = parser.data_type()
    parser.end()
    return result


def parse_schema(text: str) -> StructType:
    """Parse a Spark DDL column list, e.g. ``"id STRING NOT NULL, tags ARRAY<STRING>"``.

    Raises:
        DDLError: the text is not a column list, or a column name repeats (case-insensitive).
    """
    parser = _Parser(text)
    if parser.tok.kind == "end":
        raise parser.fail("empty schema: expected at least one column, like 'id STRING'")
    fields = [parser.field(struct=False)]
    while parser.accept(","):
        fields.append(parser.field(struct=False))
    parser.end()
    return StructType(parser.unique(fields))
