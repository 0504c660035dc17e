"""The checked-in JSON Schema and configuration reference are what the models generate."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from spark_enrich.config import CODES, PipelineConfig, pipeline_json_schema
from spark_enrich.config.reference import (
    _models,
    pipeline_json_schema_text,
    pipeline_reference_markdown,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "regenerate with: spark-enrich schema -o docs/pipeline.schema.json && "
REGENERATE += "spark-enrich schema --format markdown -o docs/configuration.md"


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
