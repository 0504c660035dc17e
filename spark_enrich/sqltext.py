"""Quoting for SQL text the engine builds (expressions, DDL statements)."""

from __future__ import annotations


def ident(name: str) -> str:
    """A quoted identifier: dots, spaces and backticks in ``name`` are not syntax."""
    return "`" + name.replace("`", "``") + "`"


def literal(value: str) -> str:
    """A SQL string literal (Spark's default parser unescapes backslashes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
