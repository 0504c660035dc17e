"""Parity assertions: the same events through two runtimes must give the same records.

Only the engine's metadata (columns starting with ``_``: executor, source coordinates, ingest
time, run id) may differ between a streaming and a batch run. Dead letters are compared with
:func:`assert_dead_letter_parity`: by what went wrong and to which payload, not by their ids,
times, run ids or source coordinates, which differ between a Kafka topic and a table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row


def business_columns(df: DataFrame) -> DataFrame:
    """``df`` without the engine's ``_``-prefixed metadata columns, columns in sorted order."""
    return df.select(*sorted(c for c in df.columns if not c.startswith("_")))


def assert_parity(left: DataFrame, right: DataFrame) -> None:
    """Assert two outputs hold the same records, ignoring engine metadata and row order.

    Raises:
        AssertionError: with chispa's side-by-side diff of the differing rows.
    """
    from chispa import assert_df_equality

    try:
        assert_df_equality(
            business_columns(left),
            business_columns(right),
            ignore_row_order=True,
            ignore_nullable=True,
        )
    except Exception as exc:
        # chispa's own error types are not AssertionErrors; a test framework expects one.
        if type(exc).__module__.startswith("chispa"):
            raise AssertionError(str(exc)) from exc
        raise


DEAD_LETTER_PARITY_COLUMNS = ("reason", "executor", "executor_version", "event_type", "raw_payload")
"""What :func:`assert_dead_letter_parity` compares (plus ``message`` if asked)."""
_SHOWN = 20


def _describe(row: Row) -> str:
    fields = []
    for name, value in row.asDict().items():
        if isinstance(value, bytearray | bytes):
            text = repr(bytes(value))
            value = text if len(text) <= 120 else text[:117] + "..."
        fields.append(f"{name}={value}")
    return "    " + ", ".join(fields)


def assert_dead_letter_parity(left: DataFrame, right: DataFrame, *, messages: bool = False) -> None:
    """Assert two dead-letter tables hold the same dead letters, in any order.

    Dead letters are compared by ``reason``, ``executor``, ``executor_version``, ``event_type``
    and the exact ``raw_payload`` bytes (and ``message`` with ``messages=True``), each as often
    as it occurs. Ids, times, run ids, replay marks, Kafka keys and headers and source
    coordinates are ignored: they differ between a stream from Kafka and a batch over a table of
    the same events.

    Raises:
        AssertionError: listing the dead letters found on one side only.
    """
    columns = [*DEAD_LETTER_PARITY_COLUMNS, *(["message"] if messages else [])]
    for side, frame in (("left", left), ("right", right)):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise AssertionError(f"{side} is not a dead-letter table: no column {missing}")
    a, b = left.select(*columns), right.select(*columns)
    diffs = {"left": a.exceptAll(b), "right": b.exceptAll(a)}
    shown = {
        side: diff.orderBy(*columns).limit(_SHOWN + 1).collect() for side, diff in diffs.items()
    }
    if not any(shown.values()):
        return
    lines = [f"dead letters differ (compared: {', '.join(columns)})"]
    for side, rows in shown.items():
        count = len(rows) if len(rows) <= _SHOWN else diffs[side].count()
        more = f", first {_SHOWN} shown" if count > _SHOWN else ""
        lines.append(f"  only in {side}: {count}{more}")
        lines.extend(_describe(row) for row in rows[:_SHOWN])
    raise AssertionError("\n".join(lines))
