"""The typed tree a Spark DDL string parses to; it renders Spark's simpleString and DDL."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ArrayType",
    "AtomicType",
    "DataType",
    "DecimalType",
    "MapType",
    "StructField",
    "StructType",
]

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _quote(name: str) -> str:
    return name if _PLAIN_NAME.match(name) else "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class AtomicType:
    """A type other than decimal, array, map and struct; ``name`` is Spark's simpleString
    (``string``, ``bigint``, ``varchar(10)``, ``interval day to second``,
    ``string collate UTF8_LCASE``...)."""

    name: str

    def simple_string(self) -> str:
        """Spark's ``DataType.simpleString``."""
        return self.name

    def ddl(self) -> str:
        """Spark's DDL spelling (a collation name keeps its case)."""
        head, sep, collation = self.name.partition(" collate ")
        return head.upper() + (f" COLLATE {collation}" if sep else "")


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
