"""Enrichment services through a real HTTP server on 127.0.0.1: batching, retries, and the
on-failure policies (dead letter, null, fail) — with the accounting identity intact; a service
that cannot be reached at all fails the batch instead of dead-lettering every event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from support.jobs import failed_jobs, spark_jobs
from support.registry import isolated_registry

from spark_enrich import EnrichContext, Executor, Pipeline, executor
from spark_enrich.errors import PipelineRunError
from spark_enrich.testing.http_service import EnrichmentService

REGISTRY = isolated_registry()
LANGUAGES = {"p1": "en", "p2": "de", "p3": "fr", "p4": "ja"}


@executor(
    name="clicks", version="1.0.0", event_types=["click"], services=("lang",), registry=REGISTRY
)
class Clicks(Executor):
    """Clicks enriched with the pin's language from the ``lang`` service."""

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        return ctx.call_service("lang", df)


def _events() -> list[str]:
    pins = ["p1", "p2", "p3", "p4", "p1", "bad"]
    time = "2026-01-02T03:04:05Z"
    return [
        json.dumps({"event_id": f"e{i}", "event_type": "click", "pin_id": p, "event_time": time})
        for i, p in enumerate(pins)
    ]


def _pipeline(
    spark: SparkSession, tmp: Path, url: str, on_failure: str, retries: int = 2
) -> Pipeline:
    raw = tmp / "raw"
    spark.createDataFrame([(v,) for v in _events()], "value STRING").write.format("delta").save(
        str(raw)
    )
    config = f"""
name: svc
version: "1"
sources: [{{name: raw, kind: delta, path: {raw}, payload_column: value}}]
decoding:
  schema: "event_id STRING, event_type STRING, pin_id STRING, event_time STRING"
  required: [event_id, event_time]
executors: [{{name: clicks}}]
enrichments:
  services:
    - {{name: lang, url: "{url}", batch_size: 2, concurrency: 2, timeout: 5s, retries: {retries},
       backoff: 10ms, on_failure: {on_failure}, request_columns: [pin_id],
       response_schema: "language STRING"}}
output:
  columns:
    - {{name: event_id, type: string, nullable: false}}
    - {{name: pin_id, type: string}}
    - {{name: language, type: string}}
  key: [event_id]
sink: {{path: {tmp / "out"}, mode: merge}}
dead_letters: {{path: {tmp / "dl"}}}
runtime: {{batch: {{source: raw, date_column: event_time}}}}
observability: {{metrics: {{kind: none}}}}
"""
    path = tmp / "svc.yaml"
    path.write_text(config)
    return Pipeline.from_yaml(path, spark=spark, registry=REGISTRY)


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    return {"language": LANGUAGES.get(request["pin_id"])}


@pytest.fixture
def failing_service() -> Iterator[EnrichmentService]:
    # Batches containing the pin "bad" always fail; the first request fails once (a retry).
    with EnrichmentService(_answer, fail_first=1, fail_when=lambda r: r["pin_id"] == "bad") as s:
        yield s


def _output(pipeline: Pipeline) -> DataFrame:
    return pipeline.output().select("event_id", "pin_id", "language")


def test_languages_are_joined_and_failed_batches_are_dead_letters(
    spark: SparkSession, tmp_path: Path, failing_service: EnrichmentService
) -> None:
    pipeline = _pipeline(spark, tmp_path, failing_service.url, "dead_letter")
    report = pipeline.run_batch().batches[0]
    counts = report.executors[0]
    assert counts.balanced and counts.input == 6
    letters = pipeline.dead_letters().select("reason", "executor").collect()
    # Requests go in batches of two: the batch holding "bad" fails, and so does its partner.
    assert counts.dead_lettered == len(letters) >= 1
    assert {(r.reason, r.executor) for r in letters} == {("enrichment_error", "clicks")}
    out = _output(pipeline)
    assert out.count() == counts.output == 6 - counts.dead_lettered
    expected = [
        (r.event_id, r.pin_id, LANGUAGES[r.pin_id])
        for r in out.select("event_id", "pin_id").collect()
    ]
    assert_df_equality(
        out,
        spark.createDataFrame(expected, "event_id STRING, pin_id STRING, language STRING"),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert "bad" not in {r.pin_id for r in out.collect()}
    message = pipeline.dead_letters().select("message").first()
    assert message is not None and "service 'lang'" in message[0] and "HTTP 500" in message[0]


def test_null_policy_keeps_the_events_without_the_fields(
    spark: SparkSession, tmp_path: Path, failing_service: EnrichmentService
) -> None:
    pipeline = _pipeline(spark, tmp_path, failing_service.url, "null")
    counts = pipeline.run_batch().batches[0].executors[0]
    assert (counts.input, counts.output, counts.dead_lettered) == (6, 6, 0)
    rows = {r.event_id: (r.pin_id, r.language) for r in _output(pipeline).collect()}
    assert rows["e5"] == ("bad", None)
    known = [(pin, language) for pin, language in rows.values() if pin != "bad"]
    # A known pin is either enriched correctly or, when it shared the failed request (batches
    # of two) with "bad", left null: never a wrong language, and at most one such partner.
    assert all(language in (None, LANGUAGES[pin]) for pin, language in known)
    assert sum(language is None for _, language in known) <= 1


def test_retries_recover_from_transient_errors(spark: SparkSession, tmp_path: Path) -> None:
    with EnrichmentService(_answer, fail_first=2) as service:
        pipeline = _pipeline(spark, tmp_path, service.url, "fail", retries=3)
        counts = pipeline.run_batch().batches[0].executors[0]
    assert (counts.output, counts.dead_lettered) == (6, 0)
    languages: dict[str, str | None] = dict(
        _output(pipeline).select("pin_id", "language").distinct().collect()
    )
    assert languages == {**{p: LANGUAGES[p] for p in ("p1", "p2", "p3", "p4")}, "bad": None}


def _assert_nothing_written(tmp: Path) -> None:
    assert not (tmp / "out" / "_delta_log").exists()
    assert not (tmp / "dl" / "_delta_log").exists()


def test_fail_policy_fails_the_batch(spark: SparkSession, tmp_path: Path) -> None:
    with EnrichmentService(_answer, fail_when=lambda r: True) as service:
        pipeline = _pipeline(spark, tmp_path, service.url, "fail", retries=0)
        with spark_jobs(spark) as jobs, pytest.raises(PipelineRunError) as caught:
            pipeline.run_batch()
    assert caught.value.error_class == "SERVICE_FAILED"
    assert "service 'lang'" in str(caught.value) and "HTTP 500" in str(caught.value)
    assert len(failed_jobs(spark, jobs)) == 1, jobs
    # The run stopped before any write: no output table, no dead letters.
    _assert_nothing_written(tmp_path)


@pytest.fixture
def stopped_service_url() -> str:
    """The URL of a real service that was stopped: nothing listens on its port any more."""
    with EnrichmentService(_answer) as service:
        url = service.url
    return url


@pytest.mark.parametrize("on_failure", ["dead_letter", "fail"])
def test_unreachable_service_fails_the_batch_naming_it(
    spark: SparkSession, tmp_path: Path, stopped_service_url: str, on_failure: str
) -> None:
    # Every event "failing" to enrich is not six bad events but one service down: dead-letter
    # them and the sink moves on without them; fail, and the batch is retried once it is up.
    pipeline = _pipeline(spark, tmp_path, stopped_service_url, on_failure, retries=1)
    with spark_jobs(spark) as jobs, pytest.raises(PipelineRunError) as caught:
        pipeline.run_batch()
    assert caught.value.error_class == "INFRASTRUCTURE_ERROR"
    assert caught.value.message_parameters["kind"] == "service_unreachable"
    assert f"cannot connect to {stopped_service_url}" in str(caught.value)
    assert "service 'lang'" in str(caught.value)
    # One: the executor's job. More would be re-runs on parts of the events, the engine taking
    # the service's failure for poison rows.
    assert len(failed_jobs(spark, jobs)) == 1, jobs
    _assert_nothing_written(tmp_path)


def test_unreachable_service_under_null_policy_leaves_the_fields_null(
    spark: SparkSession, tmp_path: Path, stopped_service_url: str
) -> None:
    # `null` asks the pipeline to run on without the service's fields: it does.
    pipeline = _pipeline(spark, tmp_path, stopped_service_url, "null", retries=0)
    counts = pipeline.run_batch().batches[0].executors[0]
    assert (counts.input, counts.output, counts.dead_lettered) == (6, 6, 0)
    assert {r.language for r in _output(pipeline).collect()} == {None}


def test_each_event_is_sent_to_the_service_once(spark: SparkSession, tmp_path: Path) -> None:
    # Delta's MERGE plans its source without Spark's cache: an engine that only persisted the
    # executor output had every event enriched again by the sink MERGE (twice the calls, and
    # rows written that were not the rows counted).
    with EnrichmentService(_answer) as service:
        pipeline = _pipeline(spark, tmp_path, service.url, "fail")
        counts = pipeline.run_batch().batches[0].executors[0]
        assert (counts.input, counts.output) == (6, 6)
        assert service.rows == 6
