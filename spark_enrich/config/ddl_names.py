"""Names Spark 4.2 checks while it builds a type: collations and spatial reference ids.

The ICU locales and SRIDs Spark knows are data read from Spark itself
(:mod:`~spark_enrich.config.ddl_data`); the rules that combine them are Spark's
``CollationFactory``: ``UTF8_BINARY`` and ``UTF8_LCASE`` take only ``_RTRIM``; ``UNICODE`` and
an ICU locale take ``_CS``/``_CI``, ``_AS``/``_AI`` and ``_RTRIM`` in any order, each once, and
are spelled canonically with the defaults (``CS``, ``AS``) left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from spark_enrich.config.ddl_data import GEOGRAPHY_SRIDS, GEOMETRY_SRIDS, ICU_LOCALES

__all__ = ["canonical_collation", "srid_known"]

_LOCALES = {name.upper(): name for name in (*ICU_LOCALES, "UNICODE")}
_BINARY = {"UTF8_BINARY": "UTF8_BINARY", "UTF8_LCASE": "UTF8_LCASE"}
_SPECIFIERS = {"CS": "case", "CI": "case", "AS": "accent", "AI": "accent", "RTRIM": "trim"}


def _specifiers(words: Sequence[str], allowed: set[str]) -> str | None:
    """``["AI", "CI"]`` -> ``"_CI_AI"``; None for an unknown or repeated specifier."""
    seen: dict[str, str] = {}
    for word in words:
        kind = _SPECIFIERS.get(word)
        if kind is None or word not in allowed or kind in seen:
            return None
        seen[kind] = word
    order = [seen.get("case"), seen.get("accent"), seen.get("trim")]
    return "".join(f"_{w}" for w in order if w not in (None, "CS", "AS"))


def canonical_collation(parts: Sequence[str]) -> str | None:
    """The canonical name of the collation ``parts`` (``["unicode_ai_ci"]`` ->
    ``"UNICODE_CI_AI"``; ``["system", "builtin", "utf8_lcase"]`` -> ``"UTF8_LCASE"``), or None
    when Spark knows no such collation."""
    if len(parts) == 3 and [p.upper() for p in parts[:2]] == ["SYSTEM", "BUILTIN"]:
        parts = parts[2:]
    if len(parts) != 1:
        return None
    words = parts[0].split("_")
    upper = [w.upper() for w in words]
    head = "_".join(upper[:2])
    if head in _BINARY:
        rest = _specifiers(upper[2:], {"RTRIM"})
        return None if rest is None else _BINARY[head] + rest
    for size in (3, 2, 1):
        locale = _LOCALES.get("_".join(upper[:size]))
        if locale is not None and len(words) >= size:
            rest = _specifiers(upper[size:], set(_SPECIFIERS))
            return None if rest is None else locale + rest
    return None


def srid_known(kind: str, srid: int) -> bool:
    """Whether ``GEOMETRY(srid)`` / ``GEOGRAPHY(srid)`` names a reference system Spark knows."""
    known = GEOMETRY_SRIDS if kind.upper() == "GEOMETRY" else GEOGRAPHY_SRIDS
    return srid in known
