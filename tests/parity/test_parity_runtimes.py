"""``spark-enrich parity --runtimes``: a sample of the demo's events through the stream path
(a Kafka topic drained available-now in micro-batches of 5, 17 and 50 events) and the batch
path (a Delta archive) gives the same rows per executor and the same dead letters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parity_kit import PIPELINES, QUIET, DemoData
from typer.testing import CliRunner

from spark_enrich.cli.app import app
from spark_enrich.testing.kafka import LocalKafkaBroker

pytestmark = [pytest.mark.slow, pytest.mark.kafka]


def test_stream_and_batch_paths_agree_on_the_demo_executors(
    demo_data: DemoData,
    kafka_broker: LocalKafkaBroker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data.folder))
    sets = [arg for s in QUIET for arg in ("--set", s)]
    result = CliRunner().invoke(
        app,
        ["parity", str(PIPELINES / "demo.yaml"), "--runtimes", "--sample", "300",
         "--bootstrap", kafka_broker.bootstrap_servers, "--workdir", str(tmp_path),
         "--format", "json", *sets],
    )  # fmt: skip

    payload = json.loads(result.output)
    assert result.exit_code == 0, json.dumps(payload, indent=1)[:4000]
    assert payload["equal"] is True
    assert set(payload["executors"]) == {"engagement", "search", "impressions"}
    for name, report in payload["executors"].items():
        assert report["matched"] > 10, name  # real rows were compared
    letters = payload["dead letters"]
    assert letters["equal"] is True
    assert letters["matched"] > 0  # the demo's bad events: dead letters were compared


def test_a_delta_source_is_followed_as_a_stream_and_sequences_compare_event_rows(
    demo_data: DemoData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data.folder))
    sets = [arg for s in QUIET for arg in ("--set", s)]
    result = CliRunner().invoke(
        app,
        ["parity", str(PIPELINES / "sequences.yaml"), "--runtimes", "--sample", "200",
         "--workdir", str(tmp_path), "--format", "json", *sets],
    )  # fmt: skip

    payload = json.loads(result.output)
    assert result.exit_code == 0, json.dumps(payload, indent=1)[:4000]
    assert payload["executors"]["sequence_items"]["matched"] > 10
