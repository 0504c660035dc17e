"""Field-level comparison of two tables keyed by columns, in one shuffle.

Each side is hash-partitioned by the key once; a window over that partitioning counts the rows
of each key and keeps one of them, and a full outer join on the same partitioning pairs the two
sides without a second exchange. One global aggregation over the joined rows gives every count
and a bounded sample (``min_by(..., k)``): nothing but the report reaches the driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, Window
from pyspark.sql import functions as F

from spark_enrich.parity.report import DiffReport, FieldDiff, RowDiff
from spark_enrich.sqltext import ident

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import DataType

_L, _R = "__l_", "__r_"
_N_L, _N_R, _NTH = "__l_rows", "__r_rows", "__nth"
_ORDER = "__order"


class DiffError(ValueError):
    """The two tables cannot be compared as asked (a key column missing, no key)."""


@dataclass(frozen=True)
class DiffSpec:
    """What to compare: the key, the compared columns and those only one side has."""

    key: tuple[str, ...]
    compared: tuple[str, ...]
    schema: dict[str, str] = field(default_factory=dict)
    as_text: frozenset[str] = frozenset()


def diff_spec(
    left: DataFrame,
    right: DataFrame,
    key: Sequence[str],
    *,
    ignore: Iterable[str] = (),
    metadata: bool = False,
) -> DiffSpec:
    """The key and the columns two frames are compared on.

    Engine metadata (columns starting with ``_``) is left out unless ``metadata``; ``ignore``
    names more columns to leave out. A column on one side only, or of another type on each
    side, is a schema difference (columns of different types are compared as text).

    Raises:
        DiffError: no key, or a key column missing on a side.
    """
    if not key:
        raise DiffError("give at least one key column")
    for side, frame in (("left", left), ("right", right)):
        missing = [k for k in key if k not in frame.columns]
        if missing:
            raise DiffError(
                f"key column(s) {missing} not in the {side} table; it has {sorted(frame.columns)}"
            )
    skipped = set(ignore) | set(key)
    types_l = {f.name: f.dataType for f in left.schema.fields}
    types_r = {f.name: f.dataType for f in right.schema.fields}

    def kept(name: str) -> bool:
        return name not in skipped and (metadata or not name.startswith("_"))

    schema: dict[str, str] = {}
    compared: list[str] = []
    as_text: set[str] = set()
    for name in [*left.columns, *(c for c in right.columns if c not in types_l)]:
        if not kept(name):
            continue
        if name not in types_r:
            schema[name] = "only in left"
        elif name not in types_l:
            schema[name] = "only in right"
        else:
            compared.append(name)
            if types_l[name] != types_r[name]:
                schema[name] = (
                    f"left {types_l[name].simpleString()}, right {types_r[name].simpleString()}"
                )
                as_text.add(name)
    return DiffSpec(tuple(key), tuple(compared), schema, frozenset(as_text))


def _has_map(dtype: DataType) -> bool:
    return "map<" in dtype.simpleString()


def _side(df: DataFrame, spec: DiffSpec, prefix: str, count: str) -> DataFrame:
    """One row per key (the first by an arbitrary order) with the key's row count."""
    types = {f.name: f.dataType for f in df.schema.fields}
    values = []
    for name in spec.compared:
        value = F.col(ident(name))
        if name in spec.as_text or _has_map(types[name]):
            # Maps have no equality in Spark SQL; their JSON text does.
            value = F.to_json(F.struct(value)) if _has_map(types[name]) else value.cast("string")
        values.append(value.alias(prefix + name))
    keys = [F.col(ident(k)) for k in spec.key]
    # One window spec for both functions: Spark computes them in one Window operator, on the
    # exchange the join below reuses (no second shuffle).
    window = Window.partitionBy(*keys).orderBy(*keys)
    whole = window.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    return (
        df.select(*keys, *values)
        .withColumn(count, F.count(F.lit(1)).over(whole))
        .withColumn(_NTH, F.row_number().over(window))
        .where(F.col(_NTH) == 1)
        .drop(_NTH)
    )


def joined(left: DataFrame, right: DataFrame, spec: DiffSpec) -> DataFrame:
    """The two sides paired by key: key columns, ``__l_<col>``/``__r_<col>`` values, and each
    side's row count for the key (null where the key is absent on that side)."""
    return _side(left, spec, _L, _N_L).join(
        _side(right, spec, _R, _N_R), on=list(spec.key), how="full_outer"
    )


def _key_struct(spec: DiffSpec) -> Column:
    return F.struct(*(F.col(ident(k)) for k in spec.key))


def _sample(value: Column, when: Column, limit: int) -> Column:
    return F.min_by(value, F.when(when, F.col(_ORDER)), limit)


def _aggregates(spec: DiffSpec, limit: int, field_limit: int) -> list[Column]:
    n_l, n_r = F.col(_N_L), F.col(_N_R)
    null_key = F.lit(False)
    for k in spec.key:
        null_key = null_key | F.col(ident(k)).isNull()
    left_only = n_l.isNotNull() & n_r.isNull() & ~null_key
    right_only = n_r.isNotNull() & n_l.isNull() & ~null_key
    one_to_one = (n_l == 1) & (n_r == 1)
    differs = {c: ~F.col(ident(_L + c)).eqNullSafe(F.col(ident(_R + c))) for c in spec.compared}
    any_differs = F.lit(False)
    for cond in differs.values():
        any_differs = any_differs | cond
    pairs = F.struct(
        *(
            F.struct(F.col(ident(_L + c)).alias("left"), F.col(ident(_R + c)).alias("right")).alias(
                c
            )
            for c in spec.compared
        )
    )
    key = _key_struct(spec)
    aggs = [
        F.coalesce(F.sum(n_l), F.lit(0)).alias("left_rows"),
        F.coalesce(F.sum(n_r), F.lit(0)).alias("right_rows"),
        F.count_if(one_to_one).alias("matched"),
        F.count_if(one_to_one & any_differs).alias("differing"),
        F.count_if(left_only).alias("only_left"),
        F.count_if(right_only).alias("only_right"),
        F.count_if((n_l > 1) & ~null_key).alias("duplicated_left"),
        F.count_if((n_r > 1) & ~null_key).alias("duplicated_right"),
        F.coalesce(F.sum(F.when(null_key, n_l)), F.lit(0)).alias("null_key_left"),
        F.coalesce(F.sum(F.when(null_key, n_r)), F.lit(0)).alias("null_key_right"),
        _sample(
            F.struct(key.alias("key"), pairs.alias("pairs")), one_to_one & any_differs, limit
        ).alias("sample_rows"),
        _sample(key, left_only, limit).alias("sample_only_left"),
        _sample(key, right_only, limit).alias("sample_only_right"),
        _sample(
            F.struct(key.alias("key"), n_l.alias("left"), n_r.alias("right")),
            ((n_l > 1) | (n_r > 1)) & ~null_key,
            limit,
        ).alias("sample_duplicated"),
    ]
    for i, (name, cond) in enumerate(differs.items()):
        aggs.append(F.count_if(one_to_one & cond).alias(f"count_{i}"))
        value = F.struct(
            key.alias("key"),
            F.col(ident(_L + name)).alias("left"),
            F.col(ident(_R + name)).alias("right"),
        )
        aggs.append(_sample(value, one_to_one & cond, field_limit).alias(f"fields_{i}"))
    return aggs


def diff_frames(
    left: DataFrame,
    right: DataFrame,
    key: Sequence[str],
    *,
    ignore: Iterable[str] = (),
    metadata: bool = False,
    sample: int = 10,
) -> DiffReport:
    """Compare two frames row by row on ``key``, column by column on the rest.

    Keys are classified once each: on the left only, on the right only, duplicated (more than
    one row on a side: counted, not compared field by field), or matched one to one, where
    every compared column is checked with null-safe equality. A key with a null part matches
    nothing (as in SQL); its rows are counted as ``null_key_*``.

    Args:
        left: the reference (a legacy job's output, what the stream wrote).
        right: the table compared with it.
        key: the columns that identify a row.
        ignore: more columns to leave out.
        metadata: compare the engine's ``_``-prefixed columns too.
        sample: rows shown per kind of difference (and per differing column).

    Returns:
        The counts and a sample of each kind of difference, field by field.

    Raises:
        DiffError: a key column is missing.

    Example:
        >>> report = diff_frames(spark.read.table("legacy"), pipeline.output(), ["event_id"])
        ...                                                         # doctest: +SKIP
        >>> print(report.render())                                  # doctest: +SKIP
    """
    spec = diff_spec(left, right, key, ignore=ignore, metadata=metadata)
    row = comparison(left, right, spec, sample).first()
    assert row is not None  # a global aggregate has one row
    return _report(spec, row.asDict(recursive=False), sample)


def comparison(left: DataFrame, right: DataFrame, spec: DiffSpec, sample: int = 10) -> DataFrame:
    """The one-row query behind :func:`diff_frames`: every count and sample, one job."""
    # The sample order is a hash of the key: the same differences show the same sample.
    pairs = joined(left, right, spec).withColumn(_ORDER, F.xxhash64(*spec.key))
    return pairs.agg(*_aggregates(spec, max(sample, 1), max(min(sample, 3), 1)))


def _rows(value: Any, sample: int) -> list[Any]:
    return list(value or [])[:sample]


def _key_dict(key: Any) -> dict[str, Any]:
    return dict(key.asDict()) if key is not None else {}


def _report(spec: DiffSpec, got: dict[str, Any], sample: int) -> DiffReport:
    fields = {}
    for i, name in enumerate(spec.compared):
        fields[name] = FieldDiff(
            name,
            int(got[f"count_{i}"]),
            tuple(
                (_key_dict(s["key"]), s["left"], s["right"])
                for s in _rows(got[f"fields_{i}"], sample)
            ),
        )
    rows = []
    for s in _rows(got["sample_rows"], sample):
        pairs = s["pairs"].asDict()
        changed = {
            name: (pair["left"], pair["right"])
            for name, pair in pairs.items()
            if pair["left"] != pair["right"]
        }
        rows.append(RowDiff(_key_dict(s["key"]), changed))
    return DiffReport(
        key=spec.key,
        compared=spec.compared,
        schema=dict(spec.schema),
        left_rows=int(got["left_rows"]),
        right_rows=int(got["right_rows"]),
        matched=int(got["matched"]),
        differing=int(got["differing"]),
        only_left=int(got["only_left"]),
        only_right=int(got["only_right"]),
        duplicated_left=int(got["duplicated_left"]),
        duplicated_right=int(got["duplicated_right"]),
        null_key_left=int(got["null_key_left"]),
        null_key_right=int(got["null_key_right"]),
        fields={name: f for name, f in fields.items() if f.count},
        rows=tuple(rows),
        only_left_keys=tuple(_key_dict(k) for k in _rows(got["sample_only_left"], sample)),
        only_right_keys=tuple(_key_dict(k) for k in _rows(got["sample_only_right"], sample)),
        duplicated_keys=tuple(
            (_key_dict(s["key"]), int(s["left"] or 0), int(s["right"] or 0))
            for s in _rows(got["sample_duplicated"], sample)
        ),
    )
