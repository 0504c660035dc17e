"""``notebooks/explore_demo.ipynb`` works against the current API: executed for real by a Jupyter
kernel (nbclient + ipykernel) on freshly generated demo data, its chart cells show images, its
text is free of Spark's start-up noise, and what it shows is the demo's real output."""

from __future__ import annotations

import io
import json
import sys
from base64 import b64decode
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from PIL import Image
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_enrich.demo.generate import write_demo_data

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore_demo.ipynb"
KERNEL = "spark-enrich-test"


def _kernel(folder: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec running this interpreter (the one with the project installed), whatever
    kernels the machine has."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(folder))
    return KERNEL


def _text(cell: Any) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif "data" in output and "text/plain" in output["data"]:
            parts.append(output["data"]["text/plain"])
    return "".join(parts)


def _images(cell: Any) -> list[Image.Image]:
    found: list[Image.Image] = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "image/png" in data:
            image = Image.open(io.BytesIO(b64decode(data["image/png"])))
            image.load()  # decodes the whole PNG
            found.append(image)
    return found


def test_the_stored_notebook_has_cell_ids_and_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(notebook)

    assert (notebook.nbformat, notebook.nbformat_minor) >= (4, 5)
    assert all(cell.get("id") for cell in notebook.cells)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_the_notebook_runs_the_demo_and_shows_its_accounting_and_charts(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = tmp_path / "demo-output"
    write_demo_data(spark, demo, 600, seed=5)
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo))
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    # The notebook runs from a notebooks/ folder beside pipelines/, as Jupyter starts it in the
    # repository; a copy of that layout, so that what its Spark leaves (./spark-warehouse) is
    # not left in the repository.
    (tmp_path / "pipelines").symlink_to(NOTEBOOK.parents[1] / "pipelines")
    (tmp_path / "notebooks").mkdir()
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name=_kernel(tmp_path / "jupyter", monkeypatch),
        resources={"metadata": {"path": str(tmp_path / "notebooks")}},
    )
    client.execute()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    shown = "".join(_text(c) for c in code)

    # Every cell that draws shows its picture: a decodable PNG with more than a blank canvas.
    charts = [c for c in code if "plt.show()" in c.source or "display(Image(" in c.source]
    assert len(charts) == 4
    for cell in charts:
        images = _images(cell)
        assert images, cell.source
        for image in images:
            assert image.format == "PNG" and len(image.convert("RGB").getcolors(1 << 24) or []) > 10
    # The report's four charts, each with its caption.
    assert len(_images(charts[-1])) == 4
    for title in ("Throughput", "Source lag", "Freshness", "Dead-letter share"):
        assert f"{title} (" in _text(charts[-1])
    # No Ivy resolution report, no log4j chatter in what a person reads.
    for noise in ("ivy", "log4j", ":: resolving", "resolution report"):
        assert noise not in shown.lower(), noise
    # preview is narrow: the engine's metadata struct is hidden.
    preview = next(c for c in code if ".preview(" in c.source)
    assert "_se_meta" not in _text(preview) and "event_id" in _text(preview)

    # The accounting it prints is the run's, as the metrics table recorded it.
    rows = spark.read.format("delta").load(str(demo / "metrics")).where("executor IS NOT NULL")
    counts = {r["executor"]: r for r in rows.collect()}
    assert sorted(counts) == ["engagement", "impressions", "search"]
    for name, c in counts.items():
        assert c["input"] == c["output"] + c["filtered"] + c["dead_lettered"], name
        assert c["output"] > 0, name
        assert f"{name} " in shown and f"output={c['output']}" in shown, name
    # The output the notebook shows is what the run wrote, event type by event type.
    enriched = spark.read.format("delta").load(str(demo / "enriched"))
    written = {
        r["event_type"]: r["count"] for r in enriched.groupBy("event_type").count().collect()
    }
    # The demo holds duplicate deliveries: the merge sink keeps one row per key.
    assert 0 < sum(written.values()) <= sum(c["output"] for c in counts.values())
    table = shown.replace(" ", "")
    for event_type, n in written.items():
        assert f"|{event_type}|{n}|" in table, event_type

    # The sequence shown is the first user's latest 50 tokens, oldest first, as the README
    # states the rule (every demo event has a token).
    first = enriched.agg(F.min("user_id")).first()
    assert first is not None
    user = first[0]
    events = sorted(
        (r["event_time"], r["event_id"], r["event_type"], r["item_id"], r["query"])
        for r in enriched.where(F.col("user_id") == user).collect()
    )[-50:]
    tokens = [f"q:{query}" if kind == "search_query" else item for *_, kind, item, query in events]
    assert f"{user} {tokens}" in shown
