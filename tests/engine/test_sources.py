"""The compiled source strategies: what a stream's checkpoint records of each (its fingerprint,
which must stay as earlier versions wrote it) and how a backfill reads around its range."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from support.engine import build_config, config_dict, registry_with

from spark_enrich import Pipeline
from spark_enrich.config.models import DeltaSource, FilesSource, KafkaSource
from spark_enrich.errors import PipelineRunError
from spark_enrich.plan import compile_source
from spark_enrich.runtime.stream import start_stream


def _kafka(**more: object) -> KafkaSource:
    fields: dict[str, object] = {"kind": "kafka", "name": "events", "bootstrap_servers": "k:9092"}
    return KafkaSource.model_validate({**fields, **more})


def test_a_kafka_fingerprint_names_its_topics_sorted_or_its_pattern() -> None:
    by_topics = compile_source(_kafka(topics=["b", "a"]))
    by_pattern = compile_source(_kafka(pattern="clicks-.*"))

    assert by_topics.fingerprint() == {
        "kind": "kafka",
        "name": "events",
        "topics": ["a", "b"],
        "pattern": None,
    }
    assert by_pattern.fingerprint() == {
        "kind": "kafka",
        "name": "events",
        "topics": None,
        "pattern": "clicks-.*",
    }


def test_a_kafka_backfill_is_one_chunk_widened_by_its_lateness_whatever_the_output_date() -> None:
    source = compile_source(_kafka(topics=["a"], backfill_lateness="6h"), default_date_column="d")

    assert source.streamable and not source.chunked
    assert source.date_column() is None  # selected by record time
    assert source.backfill_margin("d") == timedelta(hours=6)
    assert not source.dated_like_output("d")


def test_a_delta_fingerprint_names_its_path_or_table() -> None:
    by_path = compile_source(DeltaSource(kind="delta", name="raw", path="/data/raw"))
    by_name = compile_source(DeltaSource(kind="delta", name="raw", table="db.raw"))

    assert by_path.fingerprint() == {
        "kind": "delta",
        "name": "raw",
        "path": "/data/raw",
        "table": None,
    }
    assert by_name.fingerprint() == {
        "kind": "delta",
        "name": "raw",
        "path": None,
        "table": "db.raw",
    }


def test_a_delta_backfill_margin_applies_only_when_dated_otherwise_than_the_output() -> None:
    own = DeltaSource(
        kind="delta",
        name="raw",
        path="/r",
        date_column="ingest_date",
        backfill_lateness=timedelta(days=2),
    )
    inherited = DeltaSource(
        kind="delta", name="raw", path="/r", backfill_lateness=timedelta(days=2)
    )

    ingest = compile_source(own, default_date_column="event_date")
    same = compile_source(inherited, default_date_column="event_date")

    assert ingest.streamable and ingest.chunked
    assert ingest.date_column() == "ingest_date"
    assert ingest.backfill_margin("event_date") == timedelta(days=2)
    assert same.date_column() == "event_date"  # runtime.batch.date_column
    assert same.backfill_margin("EVENT_DATE") == timedelta(0)  # Spark's names: any case
    assert same.dated_like_output("Event_Date")


def test_a_files_source_is_batch_only_dated_like_the_batch_runtime_without_margin() -> None:
    source = compile_source(
        FilesSource(kind="files", name="archive", path="/logs"), default_date_column="event_date"
    )

    assert not source.streamable and source.chunked
    assert source.fingerprint() == {
        "kind": "files",
        "name": "archive",
        "path": "/logs",
        "table": None,
    }
    assert source.date_column() == "event_date"
    assert source.backfill_margin("other_date") == timedelta(0)  # files have no lateness


def test_streaming_a_files_source_is_refused_before_its_checkpoint_is_touched(
    spark: SparkSession, tmp_path: Path
) -> None:
    """It raised AttributeError (a files source has no ``table``) while fingerprinting."""
    registry = registry_with()
    data = config_dict(tmp_path, ["clicks"])
    data["sources"].append({"name": "archive", "kind": "files", "path": str(tmp_path / "logs")})
    data["runtime"]["stream"] = {"checkpoint": str(tmp_path / "checkpoint")}
    pipeline = Pipeline(build_config(data, registry), spark=spark, registry=registry)

    with pytest.raises(PipelineRunError) as refused:
        start_stream(pipeline.plan, source="archive")

    assert refused.value.error_class == "SOURCE_NOT_STREAMABLE"
    assert "Source 'archive' of kind 'files' cannot be read as a stream" in refused.value.message
    assert not (tmp_path / "checkpoint").exists()
