"""A configuration as read: plain data plus the position of every key and value, and problems.

Reading (:mod:`~spark_enrich.config.reading`) fills a :class:`Document`; overrides, the models
and the cross-field rules locate their problems through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spark_enrich.config.problems import Loc, Problem, format_path

__all__ = ["Document", "Position"]


@dataclass(frozen=True)
class Position:
    """Where something is: file, 1-based line and column."""

    file: str | None
    line: int | None
    column: int | None


@dataclass
class Document:
    """A loaded configuration: data, where each value and key came from, and problems."""

    data: Any
    file: str | None
    values: dict[Loc, Position] = field(default_factory=dict)
    keys: dict[Loc, Position] = field(default_factory=dict)
    containers: set[Loc] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def position(self, loc: Loc, *, key: bool = False) -> Position:
        """The position of ``loc``, else of its closest ancestor.

        A key's position is used when ``key`` is set, and for mappings and lists (``sink:``
        rather than the first key below it).
        """
        probe = tuple(loc)
        if key and probe in self.keys:
            return self.keys[probe]
        while probe:
            if probe in self.containers and probe in self.keys:
                return self.keys[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get(
            (), Position(self.file, 1 if self.file else None, 1 if self.file else None)
        )

    def problem(
        self,
        code: str,
        message: str,
        loc: Loc,
        found: str,
        allowed: str,
        example: str | None = None,
        *,
        key: bool = False,
    ) -> Problem:
        """A :class:`Problem` located at ``loc``."""
        pos = self.position(loc, key=key)
        return Problem(
            code, message, pos.file, pos.line, pos.column, format_path(loc), found, allowed, example
        )
