"""``spark-enrich report``: one self-contained HTML page whose charts show, per executor, what the
metrics table of real runs holds (a backfill in chunks and a stream's micro-batches), and a
clear failure when there is nothing to chart."""

from __future__ import annotations

import base64
import html
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pyspark.sql import SparkSession
from support.runtime import DEMO_YAML, Layout, demo_pipeline, overrides
from typer.testing import CliRunner

from spark_enrich.cli.app import EXIT_RUN_FAILED, app
from spark_enrich.observe.charts import SOURCE, Chart, Series
from spark_enrich.observe.report import MetricsReport, metrics_report

NO_KAFKA = "127.0.0.1:1"
Points = list[tuple[datetime, float]]


@dataclass(frozen=True)
class Ran:
    """The demo pipeline's metrics table after several real runs, and its report."""

    sets: list[str]
    metrics: Path
    report: MetricsReport
    page: str


def _sets(layout: Layout, metrics: Path, *extra: str) -> list[str]:
    destination = f"observability.metrics={{kind: delta, path: {metrics}}}"
    return overrides(layout, ["unused"], extra=[destination, *extra])


def _invoke(demo_data: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data))
    result = CliRunner().invoke(app, ["report", str(DEMO_YAML), *args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def ran(spark: SparkSession, demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    base = tmp_path_factory.mktemp("report")
    layout, metrics = Layout(base), base / "metrics"
    sets = _sets(layout, metrics, "sources.archive.max_files_per_trigger=4")
    pipeline = demo_pipeline(spark, demo_data, NO_KAFKA, sets)
    pipeline.backfill(date(2026, 1, 1), date(2026, 1, 3))  # one chunk per day: 2 batches
    pipeline.run_stream(source="archive", available_now=True)

    out = base / "out" / "report.html"
    mp = pytest.MonkeyPatch()
    try:
        code, output = _invoke(demo_data, mp, "--out", str(out), *_flags(sets))
    finally:
        mp.undo()
    assert code == 0, output
    assert f"wrote {out}: 4 charts" in output
    return Ran(sets, metrics, metrics_report(pipeline.config, spark), out.read_text("utf-8"))


def _flags(sets: list[str]) -> list[str]:
    return [arg for value in sets for arg in ("--set", value)]


def _points(series: Series) -> Points:
    # The table holds naive UTC times (the engine's sessions run in UTC).
    return [(t.replace(tzinfo=None), v) for t, v in zip(series.times, series.values, strict=True)]


def _drawn(chart: Chart) -> dict[str, Points]:
    return {s.label: _points(s) for s in chart.series}


def _expected(spark: SparkSession, metrics: Path) -> dict[str, dict[str, Points]]:
    """Every chart's series computed straight from the table's rows."""
    rows = [r.asDict() for r in spark.read.format("delta").load(str(metrics)).collect()]
    heads = {(r["run_id"], r["batch_id"], r["chunk"]): r for r in rows if r["executor"] is None}
    members: dict[tuple[str, int, str | None], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["executor"] is not None:
            members[(r["run_id"], r["batch_id"], r["chunk"])].append(r)
    order = sorted(heads, key=lambda k: (heads[k]["recorded_at"], heads[k]["batch_id"]))
    charts: dict[str, dict[str, Points]] = {
        k: defaultdict(list) for k in ("throughput", "lag", "freshness", "dead_letter_share")
    }
    for key in order:
        head = heads[key]
        at = head["recorded_at"]
        for e in sorted(members[key], key=lambda r: r["executor"]):
            name = e["executor"]
            if head["duration_ms"]:
                charts["throughput"][name].append((at, e["input"] * 1000 / head["duration_ms"]))
            if e["freshness_ms"] is not None:
                charts["freshness"][name].append((at, e["freshness_ms"] / 1000))
            if e["input"]:
                charts["dead_letter_share"][name].append((at, e["dead_lettered"] / e["input"]))
        if head["processed_rows_per_second"] is not None:
            charts["throughput"][SOURCE].append((at, head["processed_rows_per_second"]))
        if head["source_rows"]:
            letters = head["dead_lettered"] + sum(e["dead_lettered"] for e in members[key])
            charts["dead_letter_share"][SOURCE].append((at, letters / head["source_rows"]))
        lag = head["lag_offsets"] if head["lag_offsets"] is not None else head["lag_versions"]
        if lag is not None:
            charts["lag"][f"source ({head['runtime']})"].append((at, float(lag)))
    return {k: dict(v) for k, v in charts.items()}


def test_each_chart_draws_what_the_metrics_table_holds_per_executor(
    spark: SparkSession, ran: Ran
) -> None:
    expected = _expected(spark, ran.metrics)
    drawn = {c.key: _drawn(c) for c in ran.report.charts}

    assert list(drawn) == ["throughput", "lag", "freshness", "dead_letter_share"]
    executors = ["engagement", "impressions", "search"]
    # Several batches of three runtimes: a chart over time, not one dot per executor.
    assert {p.runtime for p in ran.report.points} == {"backfill", "stream"}
    assert len(ran.report.points) >= 4
    for key in ("throughput", "dead_letter_share"):
        assert sorted(drawn[key]) == sorted([*executors, SOURCE]), key
    assert sorted(drawn["freshness"]) == executors
    # Only a stream reports lag (versions of the Delta source behind), the source's, not an
    # executor's.
    assert list(drawn["lag"]) == ["source (stream)"]
    for key, series in expected.items():
        assert sorted(drawn[key]) == sorted(series), key
        for label, points in series.items():
            got = drawn[key][label]
            assert [t for t, _ in got] == [t for t, _ in points], (key, label)
            assert [v for _, v in got] == pytest.approx([v for _, v in points]), (key, label)
    # Each executor has a point per batch it ran in (all of them, for the demo's data).
    assert all(len(drawn["throughput"][n]) == len(ran.report.points) for n in executors)


def test_the_html_is_self_contained_and_every_chart_decodes(ran: Ran) -> None:
    figures = re.findall(
        r'<figure id="(\w+)" data-series="([^"]*)"><img alt="([^"]*)" '
        r'src="data:image/png;base64,([^"]+)">',
        ran.page,
    )

    assert [f[0] for f in figures] == [c.key for c in ran.report.charts]
    for (key, series, alt, data), chart in zip(figures, ran.report.charts, strict=True):
        assert (series.split(",") if series else []) == chart.labels, key
        assert html.unescape(alt) == chart.caption(), key
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        image.load()  # decodes the whole PNG, not just its header
        assert image.format == "PNG" and image.size == (800, 320), key
        # A drawn chart has more than a blank canvas.
        assert len(image.convert("RGB").getcolors(1 << 24) or []) > 10, key
    # Nothing loaded from elsewhere: no script, stylesheet or image by URL.
    assert not re.search(r'(src|href)="(?!data:)', ran.page)
    assert "<script" not in ran.page
    for name in ("engagement", "impressions", "search"):
        assert name in ran.page


def test_no_metrics_table_fails_clearly_before_spark_starts(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.html"
    code, output = _invoke(demo_data, monkeypatch, "--out", str(out))

    assert code == EXIT_RUN_FAILED
    assert "[NO_METRICS_TABLE]" in output and "{kind: delta, path: ...}" in output
    assert not out.exists()


def test_an_empty_metrics_table_fails_clearly(
    demo_data: Path, ran: Ran, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.html"
    other = [*ran.sets, "name=another"]  # the table holds no batch of this pipeline
    code, output = _invoke(demo_data, monkeypatch, "--out", str(out), *_flags(other))
    assert code == EXIT_RUN_FAILED
    assert "[METRICS_TABLE_EMPTY]" in output and "another" in output
    missing = [*ran.sets, f"observability.metrics={{kind: delta, path: {tmp_path / 'none'}}}"]
    code, output = _invoke(demo_data, monkeypatch, "--out", str(out), *_flags(missing))
    assert code == EXIT_RUN_FAILED
    assert "[METRICS_TABLE_EMPTY]" in output
    assert not out.exists()
