"""The YAML dialect of pipeline files: PyYAML's safe loader with YAML 1.2 numbers, and caps.

Integers are read as YAML 1.2 writes them (``030`` is 30, not octal 24), timestamps stay text,
and a document stops being read past :data:`MAX_VALUES` keys and values.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from spark_enrich.config.problems import Problem

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_VALUES",
    "Constructor",
    "Loader",
    "TooLarge",
    "load_value",
]

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
# Integers as YAML 1.2 writes them (digit separators and signed hex/binary kept from YAML 1.1):
# PyYAML reads YAML 1.1, where `030` is octal 24 and `1:30` the sexagesimal 90, so
# `retention_days: 030` kept 24 days. Floats keep YAML 1.1's rules (a dot required: `1e3` and
# a short commit hash like `12e4567` stay text) minus the sexagesimal form.
_INT_12 = re.compile(r"(?:[-+]?0b[0-1_]+|[-+]?0o[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?[0-9][0-9_]*)\Z")
_FLOAT_12 = re.compile(
    r"(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)


MAX_FILE_BYTES = 1024 * 1024
"""Largest pipeline file read (a pipeline is a few KB). With :data:`MAX_VALUES`, it bounds the
pure-Python parse of any file to about 2 s of CPU (see docs/benchmarks.md)."""
MAX_VALUES = 100_000
"""Values a configuration may expand to (a pipeline has a few hundred)."""


class TooLarge(Exception):
    """The document is beyond a cap: reading stops, and this one problem is all it reports."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader: YAML 1.1 implicit types, without octal and sexagesimal numbers
    (see ``_INT_12``); it stops past :data:`MAX_VALUES` keys and values."""

    composed = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # Counted as they are composed: 480,000 keys must not be parsed (minutes), then built
        # and validated one by one, for a file that is no pipeline.
        self.composed += 1
        if self.composed > MAX_VALUES:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise TooLarge(
                Problem(
                    "FILE_TOO_LARGE",
                    f"the file holds more than {MAX_VALUES:,} keys and values; "
                    "a pipeline holds a few hundred",
                    None,  # the file is filled in by read_document
                    mark.line + 1,
                    mark.column + 1,
                    "(root)",
                    f"more than {MAX_VALUES:,} keys and values",
                    f"at most {MAX_VALUES:,} keys and values",
                )
            )
        return super().compose_node(parent, index)  # type: ignore[no-any-return]


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(_INT, _INT_12, list("-+0123456789"))
Loader.add_implicit_resolver(_FLOAT, _FLOAT_12, list("-+.0123456789"))


class Constructor(yaml.constructor.SafeConstructor):
    """Safe scalars, except that timestamps stay strings (dates are compared as text) and
    integers are read as YAML 1.2 writes them (``030`` is 30, ``0o30`` is 24)."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:  # type: ignore[override]
        text = str(self.construct_scalar(node)).replace("_", "")
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        if digits.startswith("0x"):
            return sign * int(digits[2:], 16)
        if digits.startswith("0b"):  # an explicit `!!int 0b101` still reads as binary
            return sign * int(digits[2:], 2)
        if ":" in digits:  # `!!int 1:30`: YAML 1.2 has no sexagesimal numbers
            raise ValueError(f"not an integer: {text}")
        return sign * int(digits, 10)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:  # type: ignore[override]
        if ":" in str(self.construct_scalar(node)):  # `!!float 1:30`, as for integers
            raise ValueError(f"not a number: {node.value}")
        return float(super().construct_yaml_float(node))


Constructor.add_constructor(
    "tag:yaml.org,2002:timestamp",
    yaml.constructor.SafeConstructor.construct_yaml_str,  # type: ignore[type-var]
)
Constructor.add_constructor(_INT, Constructor.construct_yaml_int)  # type: ignore[type-var]
Constructor.add_constructor(_FLOAT, Constructor.construct_yaml_float)  # type: ignore[type-var]


def load_value(text: str) -> Any:
    """A ``--set`` value, read by the file's rules (timestamps stay strings)."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return None if node is None else Constructor().construct_document(node)
