"""The checked-in JSON Schema and configuration reference are what the models generate."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import BaseModel
from support.config import VALID, make_registry

from spark_enrich.config import CODES, PipelineConfig, pipeline_json_schema
from spark_enrich.config.reference import (
    _models,
    pipeline_json_schema_text,
    pipeline_reference_markdown,
)
from spark_enrich.registry import default_registry

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
REGENERATE = "regenerate with: spark-enrich schema -o docs/pipeline.schema.json && "
REGENERATE += "spark-enrich schema --format markdown -o docs/configuration.md"


def test_the_docs_describe_the_installed_executors() -> None:
    # The checked-in files come from the repo's own executors (entry point `examples`); a test
    # that registered another executor in the default registry would change them.
    assert default_registry().names() == [
        "engagement",
        "impressions",
        "search",
        "sequence_items",
    ]


def test_schema_file_is_in_sync() -> None:
    assert (DOCS / "pipeline.schema.json").read_text(encoding="utf-8") == (
        pipeline_json_schema_text()
    ), REGENERATE


def test_reference_file_is_in_sync() -> None:
    assert (DOCS / "configuration.md").read_text(encoding="utf-8") == (
        pipeline_reference_markdown()
    ), REGENERATE


def test_reference_documents_every_key_and_code() -> None:
    text = pipeline_reference_markdown()
    models: list[type[BaseModel]] = []
    _models(PipelineConfig, models)
    assert len(models) > 15
    for model in models:
        assert f"## {model.__name__}" in text
        for name, field in model.model_fields.items():
            assert f"| `{name}` |" in text
            assert field.description, f"{model.__name__}.{name} has no description"
    for code in CODES:
        assert f"| `{code}` |" in text


def test_schema_describes_the_file_for_editors() -> None:
    schema = pipeline_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) >= {"name", "sources", "executors", "output", "sink"}
    assert schema["additionalProperties"] is False
    service = schema["$defs"]["ServiceEnrichment"]["properties"]
    # Durations are the strings the file holds, with the file's spelling as default.
    assert service["timeout"]["type"] == "string"
    assert service["timeout"]["default"] == "5s"
    assert service["backoff"]["default"] == "200ms"
    sources = schema["properties"]["sources"]["items"]
    assert set(sources["discriminator"]["mapping"]) == {"kafka", "delta", "files"}
    json.dumps(schema)


def _problems(schema: dict[str, Any], document: dict[str, Any]) -> set[tuple[str, str]]:
    """``(instance path, failed keyword)`` of every error the schema finds in the document."""
    validator = Draft202012Validator(schema)
    return {
        ("/".join(str(p) for p in error.absolute_path), error.validator)
        for error in validator.iter_errors(document)
    }


def test_schema_bounds_numbers_with_json_schema_keywords() -> None:
    # Editors ignore pydantic's own `gt`/`le`: a bound written that way checks nothing.
    schema = pipeline_json_schema()
    document = yaml.safe_load((REPO / "pipelines" / "demo.yaml").read_text(encoding="utf-8"))
    document["decoding"]["max_payload_bytes"] = 0
    document["dead_letters"]["max_share"] = 2  # number or null: reported as `anyOf`
    assert _problems(schema, document) == {
        ("decoding/max_payload_bytes", "exclusiveMinimum"),
        ("dead_letters/max_share", "anyOf"),
    }
    document["dead_letters"]["max_share"] = 1
    assert _problems(schema, document) == {("decoding/max_payload_bytes", "exclusiveMinimum")}
    assert not {"gt", "ge", "lt", "le"} & set(_keys(schema))


def _keys(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*node, *(k for v in node.values() for k in _keys(v))]
    if isinstance(node, list):
        return [k for v in node for k in _keys(v)]
    return []


def test_schema_checks_each_executors_params_with_its_model() -> None:
    schema = pipeline_json_schema(make_registry())
    Draft202012Validator.check_schema(schema)
    base: dict[str, Any] = yaml.safe_load((VALID / "base.yaml").read_text(encoding="utf-8"))
    assert base["executors"][0] == {"name": "clicks", "params": {"min_ms": 500}}
    assert _problems(schema, base) == set()

    def with_executor(entry: dict[str, Any]) -> dict[str, Any]:
        document: dict[str, Any] = copy.deepcopy(base)
        document["executors"][0] = entry
        return document

    clicks = "executors/0/params"
    cases: dict[str, tuple[dict[str, Any], set[tuple[str, str]]]] = {
        "negative": (
            {"name": "clicks", "params": {"min_ms": -1}},
            {(f"{clicks}/min_ms", "minimum")},
        ),
        "wrong type": ({"name": "clicks", "params": {"label": 5}}, {(f"{clicks}/label", "type")}),
        "unknown": ({"name": "clicks", "params": {"min": 1}}, {(clicks, "additionalProperties")}),
        "takes none": ({"name": "searches", "params": {"x": 1}}, {(clicks, "maxProperties")}),
        "not registered": ({"name": "clickz"}, {("executors/0/name", "enum")}),
    }
    for name, (entry, expected) in cases.items():
        assert _problems(schema, with_executor(entry)) == expected, name
    # Params of another executor are unknown here: each name has its own model.
    assert _problems(schema, with_executor({"name": "closeups", "params": {"min_ms": 1}})) == {
        (clicks, "maxProperties")
    }


def test_the_demo_pipeline_is_valid_under_the_checked_in_schema() -> None:
    schema = json.loads((DOCS / "pipeline.schema.json").read_text(encoding="utf-8"))
    demo = yaml.safe_load((REPO / "pipelines" / "demo.yaml").read_text(encoding="utf-8"))
    assert _problems(schema, demo) == set()
    demo["executors"][0]["params"] = {"min_closeup_ms": "long"}
    assert _problems(schema, demo) == {("executors/0/params/min_closeup_ms", "type")}


@pytest.mark.parametrize("name", ["engagement", "impressions", "search"])
def test_reference_lists_each_executor_with_its_params(name: str) -> None:
    text = pipeline_reference_markdown()
    section = text.split(f"### `{name}`\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    model = default_registry().get(name).spec.params_model
    assert model is not None
    for param in model.model_fields:
        assert f"| `{param}` |" in section
    # A regular-expression default keeps its '|' inside the cell.
    assert '| `"(?i)(bot\\|crawler\\|spider\\|headless)"` |' in section
