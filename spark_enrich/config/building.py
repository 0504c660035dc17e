"""Build plain values from a composed YAML node tree, recording each key's and value's position.

Bad values (tags, recursive aliases, duplicate keys) become problems of the document instead
of exceptions, so every problem of a file is listed at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from spark_enrich.config.document import Document, Position
from spark_enrich.config.interpolation import interpolate_scalar
from spark_enrich.config.problems import Loc, Problem, format_path, shorten
from spark_enrich.config.yaml_dialect import MAX_VALUES, Constructor, TooLarge

__all__ = ["Builder"]

_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class Builder:
    """Builds the values of a composed YAML node tree, recording where each one is."""

    def __init__(self, doc: Document, env: Mapping[str, str]) -> None:
        self.doc = doc
        self.env = env
        self.constructor = Constructor()
        # Collections being built: an alias to one of them (`&a [x, *a]`) would never end.
        self.open: set[int] = set()
        self.built = 0

    def pos(self, mark: yaml.Mark) -> Position:
        return Position(self.doc.file, mark.line + 1, mark.column + 1)

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.doc.values[loc] = self.pos(node.start_mark)
        self.built += 1
        if self.built > MAX_VALUES:
            # Aliases of aliases ("billion laughs") expand exponentially: stop, do not hang. The
            # rest of the document is not built, so this is the one problem reported: the keys
            # left unbuilt are not "expected a string, found null".
            self.bad_value(node, loc, f"the document expands to more than {MAX_VALUES} values")
            raise TooLarge(self.doc.problems.pop())
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self.doc.containers.add(loc)
            if node.tag not in _COLLECTION_TAGS:
                self.bad_value(node, loc, f"a collection tagged {node.tag}")
                return None
            if id(node) in self.open:
                self.bad_value(node, loc, "an alias refers to a collection that contains it")
                return None
            self.open.add(id(node))
            try:
                if isinstance(node, yaml.MappingNode):
                    return self.mapping(node, loc)
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        try:
            value = self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError) as exc:
            # A tag (`!sql`, `!!python/...`) or a tagged value that is not what its tag says
            # (`!!int abc`): the text as written, reported as a problem.
            reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else None
            reason = reason or f"{node.tag} cannot read {shorten(repr(node.value))}"
            self.bad_value(node, loc, reason)
            return node.value
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            # `!!binary`, `!!set`, ...: not a value any setting takes.
            self.bad_value(node, loc, f"{node.tag} builds a {type(value).__name__}")
            return node.value
        if isinstance(value, str) and "$" in value:
            value = interpolate_scalar(self.doc, value, loc, self.env)
        return value

    def bad_value(self, node: yaml.Node, loc: Loc, reason: str) -> None:
        found = shorten(node.value) if isinstance(node, yaml.ScalarNode) else ""
        found = found or node.tag.rsplit(":", 1)[-1]
        self.doc.problems.append(
            self.doc.problem(
                "UNREADABLE_VALUE",
                f"cannot read this value: {reason}",
                loc,
                f"{node.tag} {found}" if not node.tag.startswith("tag:yaml.org") else str(found),
                "a plain YAML value (no tags, no recursive aliases)",
            )
        )

    def mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        explicit = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        self.constructor.flatten_mapping(node)  # resolves `<<: *anchor` merge keys, put first
        merged_count = len(node.value) - explicit
        merged: set[str] = set()
        out: dict[str, Any] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode):
                self.doc.problems.append(
                    Problem(
                        "BAD_KEY",
                        "mapping keys must be plain strings",
                        self.doc.file,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        format_path(loc),
                        key_node.tag,
                        "a string key",
                    )
                )
                continue
            # The key's text as written: `on:` stays "on", not True (YAML 1.1's trap).
            key = str(key_node.value)
            child = (*loc, key)
            if index < merged_count:
                merged.add(key)
                out.pop(key, None)  # merged mappings: PyYAML lists the winning one last
            elif key in merged:
                merged.discard(key)  # an explicit key overrides a merged one
                del out[key]
            if key in out:
                first = self.doc.keys[child]
                self.doc.problems.append(
                    Problem(
                        "DUPLICATE_KEY",
                        f"key {shorten(repr(key))} appears twice in this mapping "
                        f"(first at line {first.line})",
                        self.doc.file,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        format_path(child),
                        shorten(key),
                        "each key once",
                    )
                )
                continue
            self.doc.keys[child] = self.pos(key_node.start_mark)
            out[key] = self.build(value_node, child)
        return out
