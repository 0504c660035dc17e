"""Events of a type no executor handles: counted by default, dead letters when configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from support.engine import build_config, config_dict, raw, registry_with, write_source

from spark_enrich import Pipeline

PAYLOADS = [raw("e1", "click"), raw("e2", "teleport"), raw("e3", "view"), raw("e4", "teleport")]


@pytest.mark.parametrize("policy", ["count", "dead_letter"])
def test_unrouted_events_are_accounted_for(
    spark: SparkSession, tmp_path: Path, policy: str
) -> None:
    registry = registry_with()
    write_source(spark, tmp_path / "raw", PAYLOADS)
    data = config_dict(tmp_path, ["clicks", "views"], decoding={"unrouted": policy})
    pipeline = Pipeline(build_config(data, registry), spark=spark, registry=registry)
    report = pipeline.run_batch().batches[0]
    assert (report.source_rows, report.routed, report.unrouted) == (4, 2, 2)
    assert report.violations() == []
    assert {r.event_id for r in pipeline.output().select("event_id").collect()} == {"e1", "e3"}
    letters = (
        {
            (r.event_type, r.reason, r.executor)
            for r in pipeline.dead_letters().select("event_type", "reason", "executor").collect()
        }
        if (tmp_path / "dead" / "_delta_log").exists()
        else set()
    )
    if policy == "count":
        assert report.unrouted_dead_lettered == 0 and letters == set()
    else:
        assert report.unrouted_dead_lettered == 2
        assert letters == {("teleport", "unknown_event_type", None)}
        messages = {r.message for r in pipeline.dead_letters().select("message").collect()}
        assert messages == {"no executor handles event type teleport"}
