"""Joining an offline table to events the way the configuration declares it: on the table's
``keys`` and, for a table with ``as_of``, to the row that was valid at each event's time.

pyspark is imported inside the functions: the public API (``import spark_enrich``) and the
config CLI must not load it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Literal

from spark_enrich.errors import ExecutorContractError
from spark_enrich.sqltext import ident

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

JoinHow = Literal["left", "inner"]

# Internal name of the derived end of validity (``valid_to: null``); never reaches the output.
_VALID_UNTIL = "_se_valid_until"
# Internal name of the row a prepared table keeps for a key.
_ROW = "_se_row"


@dataclass(frozen=True)
class AsOfColumns:
    """Which columns make a join point-in-time (see ``enrichments.tables[].as_of``)."""

    event_time: str
    valid_from: str
    valid_to: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """How the configuration declares an offline table: the join ``keys``, optionally as of
    the event time, and whether Spark should broadcast it."""

    keys: tuple[str, ...]
    as_of: AsOfColumns | None = None
    broadcast: bool = False

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("an offline table needs at least one join key")

    def hinted(self, table: DataFrame) -> DataFrame:
        """``table`` with the broadcast hint when the configuration asks for it."""
        from pyspark.sql import functions as F

        return F.broadcast(table) if self.broadcast else table

    def prepare(self, table: DataFrame) -> DataFrame:
        """``table`` laid out for :meth:`apply`: one row per key, or with ``as_of`` one row per
        key and ``valid_from`` (plus the derived end of validity when ``valid_to`` is not
        configured). Rows with a null key are dropped: they match no event.

        Where a key repeats, the row with the smallest values (compared column by column in
        the table's order) is kept, so every run and runtime picks the same one and a join
        never multiplies an event. A table lacking a configured column is returned as it is:
        :meth:`apply` names the missing columns.
        """
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        validity = self._validity_columns()
        if any(c not in table.columns for c in (*self.keys, *validity)):
            return table
        row_key = (*self.keys, self.as_of.valid_from) if self.as_of is not None else self.keys
        others = [f for f in table.schema.fields if f.name not in row_key]
        present = reduce(lambda a, b: a & b, [_col(k).isNotNull() for k in self.keys])
        rows = table.where(present)
        if others:
            whole = F.struct(*[_col(f.name) for f in others])
            ordered = [f for f in others if _orderable(f.dataType)]
            picked = (
                F.min(whole)
                if len(ordered) == len(others)
                else F.min_by(whole, F.struct(*[_col(f.name) for f in ordered]))
            )
            rows = rows.groupBy(*map(_col, row_key)).agg(picked.alias(_ROW))
            rows = rows.select(
                *[
                    _col(c) if c in row_key else F.col(_ROW).getField(c).alias(c)
                    for c in table.columns
                ]
            )
        else:
            rows = rows.select(*map(_col, table.columns)).distinct()
        if self.as_of is not None and self.as_of.valid_to is None:
            # "Until the next row": the end of a row's validity is its key's next start.
            by_key = Window.partitionBy(*map(_col, self.keys)).orderBy(_col(self.as_of.valid_from))
            rows = rows.withColumn(_VALID_UNTIL, F.lead(_col(self.as_of.valid_from)).over(by_key))
        return rows

    def visible(self, prepared: DataFrame) -> DataFrame:
        """A prepared table without the engine's derived columns (what ``ctx.table`` serves)."""
        return prepared.drop(_VALID_UNTIL) if _VALID_UNTIL in prepared.columns else prepared

    def apply(
        self, events: DataFrame, table: DataFrame, *, how: JoinHow, name: str, executor: str
    ) -> DataFrame:
        """``events`` with the table's other columns added (the key and validity columns of
        the table are not repeated).

        With ``as_of``, an event gets the row whose ``[valid_from, valid_to)`` holds its event
        time; when ``valid_to`` is not configured a row is valid until the key's next row.
        ``left`` keeps events without a matching row (table columns null), ``inner`` drops
        them. ``table`` is laid out by :meth:`prepare` (the engine's snapshots are); a table
        that is not gets its end of validity derived here, but keeps repeated keys.
        """
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        if how not in ("left", "inner"):
            # A right or outer join would add rows without an event: not an enrichment.
            raise ValueError(f"how must be 'left' or 'inner', not {how!r}")
        self._check(events, table, name, executor)
        validity = self._validity_columns()
        added = [
            c
            for c in table.columns
            if c not in self.keys and c not in validity and c != _VALID_UNTIL
        ]
        side = table
        if (
            self.as_of is not None
            and self.as_of.valid_to is None
            and _VALID_UNTIL not in table.columns
        ):
            # "Until the next row": the end of a row's validity is its key's next start.
            by_key = Window.partitionBy(*map(_col, self.keys)).orderBy(_col(self.as_of.valid_from))
            side = side.withColumn(_VALID_UNTIL, F.lead(_col(self.as_of.valid_from)).over(by_key))
        # Prefixed names on the table side: the join condition and the final projection can
        # then name every column unambiguously.
        side = side.select(
            *[_col(c).alias(_side(c)) for c in (*self.keys, *self._side_validity(), *added)]
        )
        side = self.hinted(side)
        condition = _col(self.keys[0]) == _col(_side(self.keys[0]))
        for k in self.keys[1:]:
            condition &= _col(k) == _col(_side(k))
        if self.as_of is not None:
            at = _col(self.as_of.event_time)
            start = _col(_side(self.as_of.valid_from))
            end = _col(_side(self._side_validity()[1]))
            condition &= (start <= at) & (end.isNull() | (at < end))
        joined = events.join(side, on=condition, how=how)
        return joined.select(*map(_col, events.columns), *[_col(_side(c)).alias(c) for c in added])

    def _validity_columns(self) -> tuple[str, ...]:
        if self.as_of is None:
            return ()
        return tuple(c for c in (self.as_of.valid_from, self.as_of.valid_to) if c is not None)

    def _side_validity(self) -> tuple[str, ...]:
        if self.as_of is None:
            return ()
        return (self.as_of.valid_from, self.as_of.valid_to or _VALID_UNTIL)

    def _check(self, events: DataFrame, table: DataFrame, name: str, executor: str) -> None:
        missing_in_events = [c for c in self.keys if c not in events.columns]
        if self.as_of is not None and self.as_of.event_time not in events.columns:
            missing_in_events.append(self.as_of.event_time)
        missing_in_table = [
            c for c in (*self.keys, *self._validity_columns()) if c not in table.columns
        ]
        if missing_in_events or missing_in_table:
            raise ExecutorContractError(
                "TABLE_JOIN_COLUMNS_MISSING",
                f"Executor {executor!r} joins table {name!r}, but columns the configuration "
                f"names are missing: events lack {missing_in_events}, the table lacks "
                f"{missing_in_table} (enrichments.tables: keys and as_of).",
                {
                    "executor": executor,
                    "table": name,
                    "missing_in_events": missing_in_events,
                    "missing_in_table": missing_in_table,
                },
            )
        validity = self._validity_columns()
        clashes = [
            c
            for c in table.columns
            if c in events.columns and c not in self.keys and c not in validity
        ]
        if clashes:
            raise ExecutorContractError(
                "TABLE_JOIN_COLUMN_CLASH",
                f"Executor {executor!r} joins table {name!r}, whose columns {clashes} already "
                "exist in the events; rename or drop them before the join.",
                {"executor": executor, "table": name, "columns": clashes},
            )


def _orderable(data_type: DataType) -> bool:
    """Whether Spark can compare values of ``data_type`` (maps and variants it cannot)."""
    from pyspark.sql.types import ArrayType, MapType, StructType, VariantType

    if isinstance(data_type, (MapType, VariantType)):
        return False
    if isinstance(data_type, ArrayType):
        return _orderable(data_type.elementType)
    if isinstance(data_type, StructType):
        return all(_orderable(f.dataType) for f in data_type.fields)
    return True


def _side(column: str) -> str:
    return f"_se_table_{column}"


def _col(name: str) -> Column:
    """A top-level column by its exact name (dots and backticks are not syntax here)."""
    from pyspark.sql import functions as F

    return F.col(ident(name))
