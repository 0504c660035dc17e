"""Recursive descent over Spark 4.2's DDL grammar (``dataType``, ``complexColType``, ``colType``).

Keywords are case-insensitive; names are words or backticked; a struct field may put ``:``
between its name and type, a column may not. ``NOT NULL`` (or ``! NULL``) comes before
``COMMENT 'text'``, each at most once. The semantic checks Spark makes while building the type
(decimal precision and scale, interval unit order, known collations and SRIDs) are made here too.
"""

from __future__ import annotations

import difflib

from spark_enrich.config.ddl_lexer import DDLError, Token, unescape
from spark_enrich.config.ddl_names import canonical_collation, srid_known
from spark_enrich.config.ddl_tree import (
    ArrayType,
    AtomicType,
    DataType,
    DecimalType,
    MapType,
    StructField,
    StructType,
)

__all__ = ["TYPE_KEYWORDS", "Parser"]

# Parameterless type keywords -> Spark's simpleString of the type.
_TRIVIAL: dict[str, str] = {
    "BOOLEAN": "boolean",
    "TINYINT": "tinyint",
    "BYTE": "tinyint",
    "SMALLINT": "smallint",
    "SHORT": "smallint",
    "INT": "int",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "LONG": "bigint",
    "FLOAT": "float",
    "REAL": "float",
    "DOUBLE": "double",
    "DATE": "date",
    "TIMESTAMP_LTZ": "timestamp",
    "TIMESTAMP_NTZ": "timestamp_ntz",
    "BINARY": "binary",
    "VOID": "void",
    "VARIANT": "variant",
}
_DECIMAL = ("DECIMAL", "DEC", "NUMERIC")
_OTHER = ("STRING", "CHAR", "CHARACTER", "VARCHAR", "INTERVAL", "TIMESTAMP", "TIME")
_GEO = ("GEOMETRY", "GEOGRAPHY")
TYPE_KEYWORDS: tuple[str, ...] = (*_OTHER, *_TRIVIAL, *_DECIMAL, *_GEO, "ARRAY", "MAP", "STRUCT")
_MAX_PRECISION = 38
_MAX_INT = 2**31 - 1
_YEAR_MONTH = ("YEAR", "MONTH")
_DAY_TIME = ("DAY", "HOUR", "MINUTE", "SECOND")


class Parser:
    """One pass over the tokens of ``text``; ``name_pos`` maps ``id(field)`` to its offset."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.name_pos: dict[int, int] = {}

    @property
    def tok(self) -> Token:
        """The current token."""
        return self.tokens[self.i]

    def fail(self, reason: str, token: Token | None = None) -> DDLError:
        """An error at ``token`` (the current one by default)."""
        return DDLError(self.text, (token or self.tok).pos, reason)

    def found(self) -> str:
        """The current token, as an error message shows it."""
        return "the end" if self.tok.kind == "end" else repr(self.tok.text)

    def next(self) -> Token:
        """Consume and return the current token."""
        token = self.tok
        self.i += 1
        return token

    def accept(self, punct: str) -> bool:
        """Consume ``punct`` if it is next."""
        if self.tok.kind == "punct" and self.tok.text == punct:
            self.i += 1
            return True
        return False

    def expect(self, punct: str) -> None:
        """Consume ``punct``, else fail."""
        if not self.accept(punct):
            raise self.fail(f"expected {punct!r}, found {self.found()}")

    def word(self, *words: str) -> str | None:
        """Consume and return the next keyword if it is one of ``words``."""
        if self.tok.kind == "ident" and self.tok.text.upper() in words:
            return self.next().text.upper()
        return None

    def number(self, what: str = "a number") -> int:
        """Consume an integer that fits a Java int."""
        if self.tok.kind != "number":
            raise self.fail(f"expected {what}, found {self.found()}")
        token = self.next()
        if int(token.text) > _MAX_INT:
            raise self.fail(f"{token.text} is larger than {_MAX_INT}", token)
        return int(token.text)

    def name(self) -> str:
        """A field name: a word or a backticked name."""
        token = self.tok
        if token.kind == "ident":
            self.i += 1
            return token.text
        if token.kind == "backtick":
            self.i += 1
            return token.text[1:-1].replace("``", "`")
        raise self.fail(f"expected a field name, found {self.found()}")

    def data_type(self) -> DataType:
        """``dataType``: array, map, struct or a primitive type."""
        token = self.tok
        if token.kind != "ident":
            raise self.fail(f"expected a type, found {self.found()}")
        word = token.text.upper()
        self.i += 1
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
            return StructType(tuple(fields))
        return self.primitive(word, token)

    def primitive(self, word: str, token: Token) -> DataType:
        """``primitiveType``, after its keyword."""
        if word in _TRIVIAL:
            return AtomicType(_TRIVIAL[word])
        if word in _DECIMAL:
            return self.decimal(token)
        if word == "STRING":
            collation = self.collation()
            return AtomicType(
                "string" if collation in (None, "UTF8_BINARY") else collation_name(collation)
            )
        if word in ("CHAR", "CHARACTER", "VARCHAR"):
            kind = "varchar" if word == "VARCHAR" else "char"
            if not self.accept("("):
                raise self.fail(f"{kind.upper()} needs a length, like {kind.upper()}(10)", token)
            length = self.number("a length")
            self.expect(")")
            self.collation()  # Spark checks the collation, then keeps a plain char/varchar
            return AtomicType(f"{kind}({length})")
        if word == "INTERVAL":
            return self.interval()
        if word == "TIMESTAMP":
            return self.timestamp()
        if word == "TIME":
            return self.time()
        if word in _GEO:
            return self.geo(word, token)
        close = difflib.get_close_matches(word, TYPE_KEYWORDS, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise self.fail(f"unknown type {token.text!r}{hint}", token)

    def collation(self) -> str | None:
        """``COLLATE name`` (or ``system.builtin.name``) -> the collation's canonical name."""
        if self.word("COLLATE") is None:
            return None
        start = self.tok
        parts = [self.name()]
        while self.tok.kind == "punct" and self.tok.text == ".":
            self.i += 1
            parts.append(self.name())
        canonical = canonical_collation(parts)
        if canonical is None:
            raise self.fail(f"unknown collation {'.'.join(parts)!r}", start)
        return canonical

    def decimal(self, token: Token) -> DecimalType:
        """``DECIMAL[(precision[, scale])]``."""
        precision, scale = 10, 0
        if self.accept("("):
            precision = self.number()
            if self.accept(","):
                scale = self.number()
            self.expect(")")
        if precision > _MAX_PRECISION:
            raise self.fail(f"decimal precision {precision} is not in 1..{_MAX_PRECISION}", token)
        if scale > precision:
            raise self.fail(
                f"decimal scale {scale} is larger than its precision {precision}", token
            )
        return DecimalType(precision, scale)

    def interval(self) -> AtomicType:
        """``INTERVAL``, ``INTERVAL YEAR [TO MONTH]``, ``INTERVAL DAY [TO SECOND]``..."""
        start_token = self.tok
        start = self.word(*_YEAR_MONTH, *_DAY_TIME)
        if start is None:
            return AtomicType("interval")
        units = _YEAR_MONTH if start in _YEAR_MONTH else _DAY_TIME
        name = f"interval {start.lower()}"
        if self.word("TO") is not None:
            end_token = self.tok
            end = self.word(*units)
            if end is None or units.index(end) <= units.index(start):
                later = ", ".join(units[units.index(start) + 1 :]) or "nothing"
                raise self.fail(
                    f"INTERVAL {start} TO ... must end in a later unit ({later})",
                    end_token if end is None else start_token,
                )
            name += f" to {end.lower()}"
        return AtomicType(name)

    def timestamp(self) -> AtomicType:
        """``TIMESTAMP [WITH LOCAL TIME ZONE | WITHOUT TIME ZONE]``."""
        if self.word("WITH") is not None:
            self.words("LOCAL", "TIME", "ZONE")
            return AtomicType("timestamp")
        if self.word("WITHOUT") is not None:
            self.words("TIME", "ZONE")
            return AtomicType("timestamp_ntz")
        return AtomicType("timestamp")

    def time(self) -> AtomicType:
        """``TIME[(precision)] [WITHOUT TIME ZONE]``, precision 0..6."""
        precision = 6
        if self.accept("("):
            token = self.tok
            precision = self.number("a precision")
            if precision > 6:
                raise self.fail(f"TIME precision {precision} is not in 0..6", token)
            self.expect(")")
        if self.word("WITHOUT") is not None:
            self.words("TIME", "ZONE")
        return AtomicType(f"time({precision})")

    def geo(self, word: str, token: Token) -> AtomicType:
        """``GEOMETRY(srid | ANY)`` and ``GEOGRAPHY(srid | ANY)``."""
        self.expect("(")
        if self.word("ANY") is not None:
            srid = "any"
        else:
            number = self.tok
            srid = str(self.number("an SRID or ANY"))
            if not srid_known(word, int(srid)):
                raise self.fail(f"{word} does not know SRID {srid}", number)
        self.expect(")")
        return AtomicType(f"{word.lower()}({srid})")

    def words(self, *words: str) -> None:
        """Consume the keywords ``words``, in order."""
        for word in words:
            if self.word(word) is None:
                raise self.fail(f"expected {word}, found {self.found()}")

    def field(self, *, struct: bool) -> StructField:
        """``name [:] TYPE [NOT NULL] [COMMENT 'text']`` (the colon in structs only)."""
        start = self.tok.pos
        name = self.name()
        if struct:
            self.accept(":")
        data_type = self.data_type()
        nullable = True
        comment = None
        if self.word("NOT") is not None or self.accept("!"):
            if self.word("NULL") is None:
                raise self.fail(f"expected NULL after NOT, found {self.found()}")
            nullable = False
        if self.word("COMMENT") is not None:
            if self.tok.kind != "string":
                raise self.fail(f"expected a quoted comment, found {self.found()}")
            comment = ""
            while self.tok.kind == "string":  # 'a' 'b' is one text, as in SQL
                comment += unescape(self.next().text)
        result = StructField(name, data_type, nullable, comment)
        self.name_pos[id(result)] = start
        return result

    def end(self) -> None:
        """Fail unless every token was read."""
        if self.tok.kind != "end":
            raise self.fail(f"unexpected {self.found()} after the end of the type")


def collation_name(collation: str) -> str:
    """The simpleString of a string with a non-default collation."""
    return f"string collate {collation}"
