"""Every pipeline shipped in ``pipelines/`` validates and declares the JSON Schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.config import demo_registry

from spark_enrich.config import load_pipeline
from spark_enrich.config.loading import check_pipeline_files
from spark_enrich.config.models import DeltaSource, KafkaSource

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = sorted((ROOT / "pipelines").glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=../docs/pipeline.schema.json"


def test_there_are_pipelines() -> None:
    assert [p.name for p in PIPELINES if p.name == "demo.yaml"] == ["demo.yaml"]


@pytest.mark.parametrize("path", PIPELINES, ids=[p.name for p in PIPELINES])
def test_pipeline_validates(path: Path) -> None:
    config = load_pipeline(path, env={}, registry=demo_registry())
    assert config.source_file == str(path)


@pytest.mark.parametrize("path", PIPELINES, ids=[p.name for p in PIPELINES])
def test_pipeline_declares_the_schema(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE
    assert (path.parent / SCHEMA_LINE.split("=", 1)[1]).resolve().is_file()


def test_demo_pipeline_matches_the_demo_contract(tmp_path: Path) -> None:
    config = load_pipeline(
        ROOT / "pipelines" / "demo.yaml",
        env={"SPARK_ENRICH_DEMO_DIR": str(tmp_path)},
        registry=demo_registry(),
    )
    assert [s.name for s in config.sources] == ["engagement", "archive"]
    kafka = config.source("engagement")
    assert isinstance(kafka, KafkaSource)
    assert kafka.topics == ["engagement", "search"]
    assert config.source("archive").kind == "delta"
    assert [e.name for e in config.executors] == ["engagement", "search", "impressions"]
    assert {t.name: t.keys for t in config.enrichments.tables} == {
        "pins": ["pin_id"],
        "users": ["user_id"],
    }
    columns = {c.name: (c.type, c.nullable) for c in config.output.columns}
    assert columns["event_time"] == ("timestamp", False)
    assert columns["query_tokens"] == ("array<string>", True)
    assert columns["hour_of_week"] == ("int", False)
    assert len(columns) == 18
    # The partition column is in the key, so each merge reads only the batch's partitions.
    assert config.output.key == ["event_id", "event_date"]
    assert (config.sink.mode, config.sink.partition_by) == ("merge", ["event_date"])
    # Every location follows SPARK_ENRICH_DEMO_DIR.
    assert config.sink.path == str(tmp_path / "enriched")
    assert config.dead_letters.path == str(tmp_path / "dead_letters")
    assert config.runtime.stream is not None
    assert config.runtime.stream.checkpoint == str(tmp_path / "_checkpoints" / "demo")


def test_the_sequences_pipeline_follows_the_demo_sink_and_both_validate_together(
    tmp_path: Path,
) -> None:
    env = {"SPARK_ENRICH_DEMO_DIR": str(tmp_path)}
    demo = load_pipeline(ROOT / "pipelines" / "demo.yaml", env=env, registry=demo_registry())
    follower = load_pipeline(
        ROOT / "pipelines" / "sequences.yaml", env=env, registry=demo_registry()
    )
    source = follower.source("enriched")
    assert isinstance(source, DeltaSource) and source.payload_column is None
    assert source.path == demo.sink.path
    assert follower.sink.mode == "sequence" and follower.sink.sequence is not None
    assert follower.sink.sequence.group_by == ["user_id"]
    # Checked as a set: no shared checkpoint, no table written by both.
    results = check_pipeline_files(PIPELINES, env=env, registry=demo_registry())
    assert {name: problems for name, problems in results.items() if problems} == {}
