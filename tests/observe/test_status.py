"""``spark-enrich status``: what the metrics table, the checkpoint and the sink say, and the exit
code a readiness probe or an alert relies on: 0 when healthy, 4 when a configured threshold is
breached."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from support.runtime import DEMO_YAML, Layout, committed_batches, demo_pipeline, overrides, wait_for
from typer.testing import CliRunner

from spark_enrich.accounting import RunReport
from spark_enrich.cli.app import app
from spark_enrich.cli.status_cmd import EXIT_THRESHOLD_BREACHED
from spark_enrich.observe.status import pipeline_status
from spark_enrich.runtime.stream import await_stream, start_stream

NO_KAFKA = "127.0.0.1:1"


@dataclass(frozen=True)
class Ran:
    """A batch run of the demo pipeline with a Delta metrics table."""

    layout: Layout
    sets: list[str]
    report: RunReport


def _sets(layout: Layout, *extra: str) -> list[str]:
    metrics = f"observability.metrics={{kind: delta, path: {layout.base / 'metrics'}}}"
    return overrides(layout, ["unused"], extra=[metrics, *extra])


@pytest.fixture(scope="module")
def ran(spark: SparkSession, demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    layout = Layout(tmp_path_factory.mktemp("status"))
    sets = _sets(layout)
    report = demo_pipeline(spark, demo_data, NO_KAFKA, sets).run_batch()
    return Ran(layout, sets, report)


def _status(
    demo_data: Path, monkeypatch: pytest.MonkeyPatch, sets: list[str], *args: str
) -> tuple[int, str]:
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data))
    flags = [arg for value in sets for arg in ("--set", value)]
    result = CliRunner().invoke(app, ["status", str(DEMO_YAML), *args, *flags])
    return result.exit_code, result.output


def _json(output: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(output)
    return found


def test_a_healthy_pipeline_exits_0_and_shows_each_executors_last_run(
    demo_data: Path, ran: Ran, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits = [
        "observability.thresholds.max_staleness=1h",
        "observability.thresholds.max_dead_letter_share=0.9",
    ]
    code, output = _status(demo_data, monkeypatch, [*ran.sets, *limits], "--format", "json")

    assert code == 0, output
    status = _json(output)
    assert status["healthy"] is True and status["breaches"] == []
    assert [r["run_id"] for r in status["runs"]] == [ran.report.run_id]
    shown = {e["executor"]: e for e in status["executors"]}
    for name, counts in ran.report.by_executor().items():
        got = shown[name]
        assert (got["input"], got["output"], got["filtered"], got["dead_lettered"]) == (
            counts.input,
            counts.output,
            counts.filtered,
            counts.dead_lettered,
        ), name
        assert got["run_id"] == ran.report.run_id
    run = status["runs"][0]
    assert run["source_rows"] == ran.report.total("source_rows")
    assert run["dead_lettered"] == ran.report.total("dead_lettered") > 0
    assert status["stream"]["alive"] is False  # a batch run holds no checkpoint
    assert status["last_commit_at"] is not None


def test_a_breached_dead_letter_share_exits_4_naming_who_breached_it(
    demo_data: Path, ran: Ran, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = "observability.thresholds.max_dead_letter_share=0.0001"
    code, output = _status(demo_data, monkeypatch, [*ran.sets, limit])

    assert code == EXIT_THRESHOLD_BREACHED == 4, output
    assert "UNHEALTHY" in output
    assert f"BREACHED max_dead_letter_share breached by the pipeline (run {ran.report.run_id})" in (
        output
    )
    # The demo's bad rows are mostly decode dead letters; the executor lines are there too.
    assert "input" in output and "dead-lettered" in output


def test_a_stale_pipeline_exits_4(
    demo_data: Path, ran: Ran, monkeypatch: pytest.MonkeyPatch
) -> None:
    time.sleep(2.1)  # the run's last commit is now at least 2 s old
    limit = "observability.thresholds.max_staleness=1s"
    code, output = _status(demo_data, monkeypatch, [*ran.sets, limit], "--format", "json")

    assert code == EXIT_THRESHOLD_BREACHED, output
    breaches = _json(output)["breaches"]
    assert [b["threshold"] for b in breaches] == ["max_staleness"]
    assert breaches[0]["limit"] == "1s"


def test_thresholds_without_a_metrics_table_are_unchecked_not_breached(
    demo_data: Path, ran: Ran, monkeypatch: pytest.MonkeyPatch
) -> None:
    sets = [*ran.sets, "observability.metrics={kind: log}"]
    limit = "observability.thresholds.max_dead_letter_share=0.0001"
    code, output = _status(demo_data, monkeypatch, [*sets, limit], "--format", "json")

    assert code == 0, output
    status = _json(output)
    assert status["metrics_table"] is None and status["runs"] == []
    assert status["unchecked"] and "max_dead_letter_share" in status["unchecked"][0]


def test_a_running_stream_is_alive_and_a_stopped_one_is_not(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    layout = Layout(tmp_path)
    sets = _sets(layout, "runtime.stream.trigger={kind: processing_time, interval: 500ms}")
    pipeline = demo_pipeline(spark, demo_data, NO_KAFKA, sets)
    run = start_stream(pipeline.plan, source="archive")
    try:
        wait_for(lambda: committed_batches(layout.checkpoint) >= 1, timeout=120, what="a commit")
        running = pipeline_status(pipeline.config, spark)
    finally:
        run.stop_requested.set()
        await_stream(run, handle_signals=False)
    stopped = pipeline_status(pipeline.config, spark, now=datetime.now(timezone.utc))

    assert running.stream is not None and running.stream.held is True
    assert running.stream.last_committed is not None and running.stream.last_committed >= 0
    assert running.stream.committed_at is not None
    assert stopped.stream is not None and stopped.stream.held is False
    assert stopped.runs and stopped.runs[0].run_id == pipeline.plan.run_id
    assert "stream: running" in running.render()[1]
    assert "stream: not running" in stopped.render()[1]
