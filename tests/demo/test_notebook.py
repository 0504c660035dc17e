"""``notebooks/explore_demo.ipynb`` works against the current API: its code cells run in order
on freshly generated demo data, and what they show is the demo's real output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_enrich.demo.generate import write_demo_data

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore_demo.ipynb"


def _code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def test_the_notebook_runs_the_demo_and_shows_its_accounting(
    spark: SparkSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo = tmp_path / "demo-output"
    write_demo_data(spark, demo, 600, seed=5)
    # The notebook runs from its own folder, as Jupyter starts it.
    monkeypatch.chdir(NOTEBOOK.parent)
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo))
    namespace: dict[str, Any] = {}
    for source in _code_cells():
        exec(compile(source, str(NOTEBOOK), "exec"), namespace)
    shown = capsys.readouterr().out

    pipeline, report = namespace["pipeline"], namespace["report"]
    assert Path(pipeline.config.sink.path) == demo / "enriched"
    counts = report.by_executor()
    assert sorted(counts) == ["engagement", "impressions", "search"]
    for name, c in counts.items():
        assert c.balanced, name
        assert c.output > 0, name
        assert f"{name} " in shown
    # The output the notebook shows is what the run wrote, event type by event type.
    by_type = pipeline.output().groupBy("event_type").count().collect()
    written = {r["event_type"]: r["count"] for r in by_type}
    # The demo holds duplicate deliveries: the merge sink keeps one row per key.
    assert 0 < sum(written.values()) <= sum(c.output for c in counts.values())
    table = shown.replace(" ", "")
    for event_type, n in written.items():
        assert f"|{event_type}|{n}|" in table, event_type

    # One sequence per user of the enriched table; the one shown is the first user's latest 50
    # tokens, oldest first, as the README states the rule (every demo event has a token).
    enriched = pipeline.output()
    assert namespace["user_sequences"].count() == enriched.select("user_id").distinct().count()
    user = enriched.agg(F.min("user_id")).first()[0]
    events = sorted(
        (r["event_time"], r["event_id"], r["event_type"], r["item_id"], r["query"])
        for r in enriched.where(F.col("user_id") == user).collect()
    )[-50:]
    tokens = [f"q:{query}" if kind == "search_query" else item for *_, kind, item, query in events]
    assert f"{user} {tokens}" in shown
