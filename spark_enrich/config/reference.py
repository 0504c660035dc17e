"""The JSON Schema of the pipeline file and the Markdown configuration reference.

Both are generated from the models and the installed executors' params models, so they cannot
drift from what ``validate`` accepts;
``docs/pipeline.schema.json`` and ``docs/configuration.md`` are checked in and a test keeps
them equal to this output. Regenerate with::

    spark-enrich schema --output docs/pipeline.schema.json
    spark-enrich schema --format markdown --output docs/configuration.md
"""

from __future__ import annotations

import json
import types
import typing
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from spark_enrich.config.models import PipelineConfig
from spark_enrich.config.problems import CODES
from spark_enrich.config.types import (
    DatetimePattern,
    DDLSchemaStr,
    DDLTypeStr,
    Duration,
    HttpUrlStr,
    Instant,
    Name,
    NonNegativeDuration,
    OptionValue,
    PathStr,
    Regex,
    format_duration,
)

if TYPE_CHECKING:
    from spark_enrich.registry import ExecutorRegistry

__all__ = ["pipeline_json_schema", "pipeline_json_schema_text", "pipeline_reference_markdown"]

SCHEMA_ID = "https://github.com/spark-enrich/spark-enrich/docs/pipeline.schema.json"


def _registry(registry: ExecutorRegistry | None) -> ExecutorRegistry:
    from spark_enrich.registry import default_registry

    return registry if registry is not None else default_registry()


def pipeline_json_schema(registry: ExecutorRegistry | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a pipeline file, for editor completion.

    Executor names are those of ``registry`` (default: the installed executors), and each
    executor's ``params`` are described by its params model.

    Example:
        >>> pipeline_json_schema()["properties"]["sink"]["$ref"]
        '#/$defs/Sink'
    """
    schema = PipelineConfig.model_json_schema(mode="validation")
    models: list[type[BaseModel]] = []
    _models(PipelineConfig, models)
    for model in models:
        properties = schema.get("$defs", {}).get(model.__name__, schema)["properties"]
        for name, field in model.model_fields.items():
            if isinstance(field.default, timedelta):
                # pydantic writes ISO-8601 (PT5S); the file is written 5s.
                properties[name]["default"] = format_duration(field.default)
    _describe_executors(schema, _registry(registry))
    _standard_bounds(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


def _standard_bounds(node: Any) -> None:
    """Write pydantic's leftover ``gt``/``ge``/``lt``/``le`` (on numbers whose type also has a
    validator: :data:`~spark_enrich.config.types.Int`) as the JSON Schema keywords editors
    know."""
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            for short, keyword in _BOUNDS.items():
                if short in node:
                    node[keyword] = node.pop(short)
        for value in node.values():
            _standard_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _standard_bounds(value)


def _describe_executors(schema: dict[str, Any], registry: ExecutorRegistry) -> None:
    """Restrict ``executors[].name`` to the registered names and give each one's ``params``
    its params model's schema (``if name is X then params is ...``)."""
    defs = schema["$defs"]
    executor_def = defs["ExecutorConfig"]
    names = registry.names()
    executor_def["properties"]["name"]["enum"] = names
    branches = []
    for name in names:
        model = registry.get(name).spec.params_model
        if model is None:
            params: dict[str, Any] = {"type": "object", "maxProperties": 0}
        else:
            params = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
            for key, sub in params.pop("$defs", {}).items():
                if defs.setdefault(key, sub) != sub:
                    raise ValueError(f"executor {name!r}: params model {key!r} clashes in $defs")
        branches.append(
            {
                "if": {"properties": {"name": {"const": name}}, "required": ["name"]},
                "then": {"properties": {"params": params}},
            }
        )
    if branches:
        executor_def["allOf"] = branches


def pipeline_json_schema_text(registry: ExecutorRegistry | None = None) -> str:
    """:func:`pipeline_json_schema` as the text of ``docs/pipeline.schema.json``."""
    schema = pipeline_json_schema(registry)
    return json.dumps(schema, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


_NAMED_TYPES: list[tuple[Any, str]] = [
    (Name, "name"),
    (Duration, "duration"),
    (NonNegativeDuration, "duration"),
    (PathStr, "path"),
    (DDLTypeStr, "DDL type"),
    (DDLSchemaStr, "DDL column list"),
    (OptionValue, "string"),
    (DatetimePattern, "datetime pattern"),
    (Instant, "instant"),
    (Regex, "regex"),
    (HttpUrlStr, "URL"),
]


def _type_text(tp: Any) -> str:
    for named, text in _NAMED_TYPES:
        if tp == named:
            return text
    origin = get_origin(tp)
    if origin is typing.Annotated:
        args = get_args(tp)
        if get_origin(args[0]) in (Union, types.UnionType) and any(
            isinstance(m, FieldInfo) and m.discriminator for m in args[1:]
        ):
            return " \\| ".join(_type_text(a) for a in get_args(args[0]))
        return _type_text(args[0])
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        text = " \\| ".join(_type_text(a) for a in members)
        return text + " \\| null" if len(members) < len(get_args(tp)) else text
    if origin is list:
        return f"list of {_type_text(get_args(tp)[0])}"
    if origin is dict:
        return f"map of {_type_text(get_args(tp)[1])}"
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(tp))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", typing.Any: "any"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _models(tp: Any, out: list[type[BaseModel]]) -> None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in out:
            return
        out.append(tp)
        for field in tp.model_fields.values():
            _models(field.annotation, out)
        return
    for arg in get_args(tp):
        _models(arg, out)


def _default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    factory = field.default_factory
    value = factory() if factory is not None else field.default  # type: ignore[call-arg]
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return "`" + json.dumps(value.model_dump(mode="json"), separators=(", ", ": ")) + "`"
    if hasattr(value, "total_seconds"):
        return f"`{format_duration(value)}`"
    return "`" + json.dumps(value) + "`"


def _field_rows(model: type[BaseModel]) -> list[str]:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        # A '|' in a cell ends it, even inside backticks (a regex default has them).
        description = (field.description or "").replace("|", "\\|")
        default = _default_text(field).replace("|", "\\|")
        rows.append(
            f"| `{name}` | {_type_text(field.rebuild_annotation())} | {default} | {description} |"
        )
    return rows


def _executor_sections(registry: ExecutorRegistry) -> list[str]:
    lines = [
        "## Executors",
        "",
        "The executors installed where this reference was generated, and the `params` each "
        "accepts under `executors[]`. Unknown params are errors.",
        "",
    ]
    for name in registry.names():
        spec = registry.get(name).spec
        lines += [
            f"### `{name}`",
            "",
            f"Version {spec.version}; event types {', '.join(f'`{t}`' for t in spec.event_types)}"
            + (f"; tables {', '.join(f'`{t}`' for t in spec.tables)}" if spec.tables else "")
            + (f"; services {', '.join(f'`{t}`' for t in spec.services)}" if spec.services else "")
            + ".",
            "",
        ]
        if spec.description:
            lines += [spec.description.strip().split("\n\n")[0].replace("\n", " "), ""]
        if spec.params_model is None:
            lines += ["Takes no params.", ""]
        else:
            lines += [*_field_rows(spec.params_model), ""]
    return lines


def pipeline_reference_markdown(registry: ExecutorRegistry | None = None) -> str:
    """The configuration reference, ``docs/configuration.md``, generated from the models and
    the params models of ``registry``'s executors (default: the installed ones)."""
    lines = [
        "# Pipeline configuration reference",
        "",
        "<!-- Generated from spark_enrich/config/models/ by "
        "`spark-enrich schema --format markdown`; do not edit by hand. -->",
        "",
        "A pipeline is one YAML file (see `pipelines/demo.yaml`). Check it with "
        "`spark-enrich validate FILE`; editors complete keys from `docs/pipeline.schema.json` "
        "when the file starts with",
        "`# yaml-language-server: $schema=../docs/pipeline.schema.json`.",
        "",
        "## Conventions",
        "",
        "- Unknown keys are errors; the message suggests the closest valid key.",
        "- `${VAR}` and `${VAR:-default}` in any string are replaced from the environment; "
        "the default also applies when the variable is set but empty (as in POSIX shells); "
        "a missing variable without default is an error. `$$` is a literal `$`.",
        "- Relative paths are resolved against the folder of the YAML file; URIs such as "
        "`s3://...` are kept as they are.",
        "- Durations are a number and a unit: `500ms`, `10s`, `5m`, `2h`, `1d` (or `1h30m`).",
        "- Instants are ISO-8601: `2000-01-01`, `2000-01-01T00:00:00Z` or "
        "`2000-01-01T02:00:00+02:00`; no zone means UTC.",
        "- Types are Spark DDL: `string`, `int`, `bigint`, `double`, `boolean`, `date`, "
        "`timestamp`, `decimal(p,s)`, `array<T>`, `map<K,V>`, `struct<name: T, ...>`.",
        "- `--set a.b[0].c=value` on the command line overrides a value after loading; the value "
        "is read as YAML, and list entries can be addressed by name "
        "(`sources.engagement.topics=[x]`).",
        '- `on_failure: null` means the policy `null` (not "no value").',
        "- Limits against hostile files: a file of at most 1 MiB and 100,000 keys and values "
        "(aliases expanded); names of at most 128 characters; a problem shows the first 80 "
        "characters of a long value; `validate` lists the first 50 problems of a file and "
        "counts the rest.",
        "",
    ]
    models: list[type[BaseModel]] = []
    _models(PipelineConfig, models)
    for model in models:
        doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        lines += [f"## {model.__name__}", "", doc, "", *_field_rows(model), ""]
    lines += _executor_sections(_registry(registry))
    lines += ["## Problem codes", "", "| code | meaning |", "|---|---|"]
    lines += [f"| `{code}` | {meaning} |" for code, meaning in CODES.items()]
    lines.append("")
    return "\n".join(lines)
