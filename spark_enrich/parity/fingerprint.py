"""Comparing two runs of one executor by row fingerprints: a small plan whatever the output.

Comparing the runs column by column in one query (as :func:`spark_enrich.parity.diff_frames`
does for two tables) renames every output column on each side. Spark keeps the optimised
plan's constraints in a checkpointed frame, and each renamed column multiplies those that
mention it: on a wide executor output (the demo's, run under the contract) planning the
comparison ran the driver out of heap. Here each run is first reduced to its row number and
one hash per column, of the column's canonical JSON text, and stored; the comparison joins
those, and only the few sampled differing rows are read back, field by field, for the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from spark_enrich.materialize import materialize, release
from spark_enrich.parity.diff import diff_spec
from spark_enrich.parity.report import DiffReport, FieldDiff
from spark_enrich.sqltext import ident

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_HASHES = "_se_hashes"
_N_L, _N_R, _H_L, _H_R = "_se_left_rows", "_se_right_rows", "_se_left", "_se_right"


def fingerprints(out: DataFrame, key: str, columns: Sequence[str]) -> DataFrame:
    """``key`` and, per row, one 64-bit hash per column of ``to_json`` of the column (maps
    and NaN included: the text is canonical where Spark's equality is not)."""
    hashes = F.array(*(F.xxhash64(F.to_json(F.struct(F.col(ident(c))))) for c in columns))
    return out.select(F.col(ident(key)), hashes.alias(_HASHES))


def _per_key(prints: DataFrame, key: str, count: str, hashes: str) -> DataFrame:
    # A key's rows (one, unless the executor multiplied it: then counted, not compared), in
    # an order that does not depend on the run's.
    return prints.groupBy(ident(key)).agg(
        F.count(F.lit(1)).alias(count), F.sort_array(F.collect_list(_HASHES)).alias(hashes)
    )


def _first(row: Column, when: Column, limit: int) -> Column:
    """The ``limit`` smallest keys where ``when`` holds: the same rows shown on every run."""
    return F.min_by(row, F.when(when, row), limit)


def _aggregates(key: str, columns: Sequence[str], limit: int) -> list[Column]:
    n_l, n_r, row = F.col(_N_L), F.col(_N_R), F.col(ident(key))
    one = (n_l == 1) & (n_r == 1)
    aggs = [
        F.coalesce(F.sum(n_l), F.lit(0)).alias("left_rows"),
        F.coalesce(F.sum(n_r), F.lit(0)).alias("right_rows"),
        F.count_if(one).alias("matched"),
        F.count_if(one & (F.col(_H_L) != F.col(_H_R))).alias("differing"),
        F.count_if(n_r.isNull()).alias("only_left"),
        F.count_if(n_l.isNull()).alias("only_right"),
        F.count_if(n_l > 1).alias("duplicated_left"),
        F.count_if(n_r > 1).alias("duplicated_right"),
        _first(row, n_r.isNull(), limit).alias("sample_only_left"),
        _first(row, n_l.isNull(), limit).alias("sample_only_right"),
    ]
    for i in range(len(columns)):
        differs = one & (F.col(_H_L)[0][i] != F.col(_H_R)[0][i])
        aggs.append(F.count_if(differs).alias(f"count_{i}"))
        aggs.append(_first(row, differs, limit).alias(f"rows_{i}"))
    return aggs


def _values(out: DataFrame, key: str, ids: set[Any], columns: Sequence[str]) -> dict[Any, Any]:
    if not ids:
        return {}
    wanted = out.where(F.col(ident(key)).isin(sorted(ids)))
    rows = wanted.select(F.col(ident(key)), *(F.col(ident(c)) for c in columns)).collect()
    return {r[0]: r for r in rows}


def compare_runs(left: DataFrame, right: DataFrame, key: str, *, sample: int = 3) -> DiffReport:
    """Compare two outputs of one executor, keyed by ``key`` (the sample row), every other
    column included (engine metadata too).

    Keys are classified as by :func:`spark_enrich.parity.diff_frames`: only on one side,
    duplicated on a side (counted, not compared field by field), or matched one to one; a
    matched key differs where a column's fingerprint does. ``sample`` differing rows per
    column are read back from both outputs, with their values.
    """
    spec = diff_spec(left, right, [key], metadata=True)
    columns = spec.compared
    stored = [materialize(fingerprints(side, key, columns)) for side in (left, right)]
    try:
        paired = _per_key(stored[0], key, _N_L, _H_L).join(
            _per_key(stored[1], key, _N_R, _H_R), on=key, how="full_outer"
        )
        got = paired.agg(*_aggregates(key, columns, max(sample, 1))).first()
    finally:
        for frame in stored:
            release(frame)
    assert got is not None  # a global aggregate has one row
    shown = {i: list(got[f"rows_{i}"] or [])[:sample] for i in range(len(columns))}
    ids = {row for rows in shown.values() for row in rows}
    values = [_values(side, key, ids, columns) for side in (left, right)]
    fields = {}
    for i, name in enumerate(columns):
        if got[f"count_{i}"]:
            examples = tuple(
                ({key: row}, values[0][row][name], values[1][row][name]) for row in shown[i]
            )
            fields[name] = FieldDiff(name, int(got[f"count_{i}"]), examples)
    return DiffReport(
        key=(key,),
        compared=tuple(columns),
        schema=dict(spec.schema),
        left_rows=int(got["left_rows"]),
        right_rows=int(got["right_rows"]),
        matched=int(got["matched"]),
        differing=int(got["differing"]),
        only_left=int(got["only_left"]),
        only_right=int(got["only_right"]),
        duplicated_left=int(got["duplicated_left"]),
        duplicated_right=int(got["duplicated_right"]),
        fields=fields,
        only_left_keys=tuple({key: k} for k in got["sample_only_left"] or [])[:sample],
        only_right_keys=tuple({key: k} for k in got["sample_only_right"] or [])[:sample],
    )
