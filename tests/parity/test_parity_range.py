"""``spark-enrich parity --from/--to`` recomputes a range without writing and finds what the
sink lost or holds differently: a test tampers with a copy of the demo's sink."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from parity_kit import PIPELINES, QUIET, DemoData
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from typer.testing import CliRunner

from spark_enrich.cli.app import app

RANGE = ["--from", "2026-01-01", "--to", "2026-01-08"]


def _parity(sink: Path, *args: str) -> tuple[int, str]:
    sets = [arg for s in [*QUIET, f"sink.path={sink}"] for arg in ("--set", s)]
    result = CliRunner().invoke(app, ["parity", str(PIPELINES / "demo.yaml"), *sets, *args])
    return result.exit_code, result.output


@pytest.fixture
def sink(spark: SparkSession, demo_data: DemoData, tmp_path: Path) -> Path:
    """A copy of the sink the demo pipeline wrote, free to tamper with."""
    copy = tmp_path / "enriched"
    spark.read.format("delta").load(str(demo_data.folder / "enriched")).write.format(
        "delta"
    ).partitionBy("event_date").save(str(copy))
    return copy


def test_an_untouched_sink_is_equal_and_nothing_is_written(
    spark: SparkSession, demo_data: DemoData, sink: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data.folder))
    versions = DeltaTable.forPath(spark, str(sink)).history().count()

    code, output = _parity(sink, *RANGE)

    assert code == 0, output
    assert "demo [2026-01-01, 2026-01-08): sink vs recomputed: equal" in output
    for name in ("engagement", "search", "impressions"):
        assert f"executor {name}:" in output
    assert DeltaTable.forPath(spark, str(sink)).history().count() == versions


def test_a_dropped_row_and_a_changed_field_are_found(
    spark: SparkSession, demo_data: DemoData, sink: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data.folder))
    table = DeltaTable.forPath(spark, str(sink))
    rows = (
        table.toDF()
        .where("_executor = 'engagement' AND event_date < '2026-01-08'")
        .orderBy("event_id")
        .select("event_id", "dwell_bucket")
        .limit(2)
        .collect()
    )
    dropped, changed = rows[0]["event_id"], rows[1]["event_id"]
    table.delete(F.col("event_id") == dropped)
    table.update(F.col("event_id") == changed, {"dwell_bucket": F.lit("tampered")})

    code, output = _parity(sink, *RANGE, "--format", "json")

    assert code == 1, output
    payload = json.loads(output)
    assert payload["equal"] is False
    engagement = payload["executors"]["engagement"]
    assert engagement["only_right"] == 1  # recomputed, not in the sink: the dropped row
    assert engagement["sample"]["only_right"][0]["event_id"] == dropped
    assert engagement["only_left"] == 0
    assert engagement["differing"] == 1
    assert engagement["columns"] == {"dwell_bucket": 1}
    field = engagement["sample"]["differing"][0]
    assert field["key"]["event_id"] == changed
    assert field["fields"]["dwell_bucket"]["left"] == "tampered"
    for other in ("search", "impressions"):
        assert payload["executors"][other]["equal"] is True


def test_bad_ranges_are_usage_errors(demo_data: DemoData, sink: Path) -> None:
    assert _parity(sink, "--from", "2026-01-08", "--to", "2026-01-01")[0] == 64
    assert _parity(sink, "--from", "2026-01-08")[0] == 64
