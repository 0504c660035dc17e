"""The README's "Writing an executor" example, installed as a package and run by name through the
``spark_enrich.executors`` entry point in a fresh process: the README stays true."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import date, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

ROOT = Path(__file__).resolve().parents[2]
MARKERS = ("<!-- executor-api:start -->", "<!-- executor-api:end -->")
AT_10 = datetime(2026, 1, 5, 10, 0)


def readme_blocks() -> tuple[str, str, str]:
    """(module file name, python code, pyproject toml) of the README's example."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = text.index(MARKERS[0]), text.index(MARKERS[1])
    section = text[start:end]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S)
    python = [code for lang, code in blocks if lang == "python"]
    toml = [code for lang, code in blocks if lang == "toml"]
    assert len(python) == 1 and len(toml) == 1, "the section must have one python, one toml block"
    first_line = python[0].splitlines()[0]
    match = re.fullmatch(r"#\s*(\w+\.py)\s*", first_line)
    assert match, f"the python block must start with '# <module>.py', found {first_line!r}"
    return match.group(1), python[0], toml[0]


def _can_build_wheels() -> bool:
    """setuptools can build a wheel without build isolation: it ships bdist_wheel (>= 70.1) or
    the ``wheel`` package is installed next to it."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    if importlib.util.find_spec("wheel") is not None:
        return True
    return importlib.util.find_spec("setuptools.command.bdist_wheel") is not None


def install(package: Path, site: Path) -> None:
    """``pip install --no-deps --no-build-isolation --target site package``."""
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
            "--no-build-isolation", "--target", str(site), str(package),
        ],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip


def install_without_wheel(package: Path, site: Path) -> None:
    """What ``pip install --target`` leaves behind, for a venv whose setuptools cannot build a
    wheel (setuptools < 70.1 without the ``wheel`` package, as Python 3.11's venv ships): the
    modules, and a dist-info with the entry points declared in the package's pyproject."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((package / "pyproject.toml").read_text(encoding="utf-8"))
    meta = project["project"]
    site.mkdir()
    for module in project["tool"]["setuptools"]["py-modules"]:
        (site / f"{module}.py").write_text(
            (package / f"{module}.py").read_text(encoding="utf-8"), encoding="utf-8"
        )
    dist = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n",
        encoding="utf-8",
    )
    lines = []
    for group, points in meta.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in points.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


PIPELINE = """\
name: readme-example
version: "1"
sources:
  - {name: raw, kind: delta, path: raw, payload_column: value}
decoding:
  schema: "event_id STRING, event_type STRING, event_time STRING, pin_id STRING, emoji STRING"
  required: [event_id, event_type, event_time]
executors:
  - name: reactions
enrichments:
  tables:
    - {name: emoji_names, path: emoji_names, keys: [emoji], broadcast: true}
output:
  columns:
    - {name: event_id, type: string, nullable: false}
    - {name: event_type, type: string, nullable: false}
    - {name: event_time, type: timestamp, nullable: false}
    - {name: event_date, type: date, nullable: false}
    - {name: item_id, type: string}
    - {name: emoji, type: string}
    - {name: emoji_name, type: string}
  key: [event_id]
sink: {path: out, mode: merge}
dead_letters: {path: dead}
runtime:
  batch: {source: raw, date_column: event_date}
observability:
  metrics: {kind: none}
"""

RUN = textwrap.dedent(
    """\
    import sys
    from spark_enrich import Pipeline

    report = Pipeline.from_yaml(sys.argv[1]).run_batch().batches[0]
    print("REPORT " + report.to_json())
    """
)


def raw_event(event_id: str, emoji: str | None, event_type: str = "pin_reaction") -> str:
    return json.dumps(
        {
            "event_id": event_id,
            "event_type": event_type,
            "event_time": "2026-01-05T10:00:00Z",
            "pin_id": f"pin-{event_id}",
            "emoji": emoji,
        }
    )


def test_readme_executor_package_runs_by_name(spark: SparkSession, tmp_path: Path) -> None:
    module_file, code, toml = readme_blocks()
    package = tmp_path / "package"
    package.mkdir()
    (package / module_file).write_text(code, encoding="utf-8")
    (package / "pyproject.toml").write_text(toml, encoding="utf-8")
    site = tmp_path / "site"
    if _can_build_wheels():
        install(package, site)
    else:
        install_without_wheel(package, site)
    assert list(site.glob("*.dist-info/entry_points.txt")), "no entry point was installed"

    work = tmp_path / "work"
    rows = [
        raw_event("r1", " Heart "),
        raw_event("r2", "unknown-emoji"),
        raw_event("r3", None),  # filtered: no emoji
        raw_event("r4", "like", event_type="pin_click"),  # no executor handles it
    ]
    spark.createDataFrame([(r,) for r in rows], "value STRING").coalesce(1).write.format(
        "delta"
    ).save(str(work / "raw"))
    spark.createDataFrame(
        [("heart", "Red heart"), ("like", "Thumbs up")], "emoji STRING, name STRING"
    ).write.format("delta").save(str(work / "emoji_names"))
    (work / "pipeline.yaml").write_text(PIPELINE, encoding="utf-8")
    (work / "run.py").write_text(RUN, encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if k != "PYSPARK_GATEWAY_PORT"}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]),
        SPARK_ENRICH_DRIVER_MEMORY="1g",
    )
    done = subprocess.run(
        [sys.executable, str(work / "run.py"), str(work / "pipeline.yaml")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("REPORT "))
    report = json.loads(line.removeprefix("REPORT "))
    assert report["executors"] == [
        {
            "executor": "reactions", "version": "1.0.0", "input": 3, "filtered": 1,
            "output": 2, "dead_lettered": 0, "outside_range": 0,
            # No dead letter, and the pipeline declares no metrics, so no event times are
            # observed and no freshness is computed.
            "dead_lettered_by_reason": {}, "event_times": None, "freshness": None,
        }
    ]  # fmt: skip
    assert (report["routed"], report["unrouted"]) == (3, 1)

    actual = spark.read.format("delta").load(str(work / "out"))
    expected = spark.createDataFrame(
        [
            ("r1", "pin_reaction", AT_10, date(2026, 1, 5), "pin-r1", "heart", "Red heart"),
            ("r2", "pin_reaction", AT_10, date(2026, 1, 5), "pin-r2", "unknown-emoji", None),
        ],
        "event_id STRING, event_type STRING, event_time TIMESTAMP, event_date DATE, "
        "item_id STRING, emoji STRING, emoji_name STRING",
    )
    assert_df_equality(
        actual.select(*expected.columns), expected, ignore_row_order=True, ignore_nullable=True
    )
    assert {r["_executor"] for r in actual.select("_executor").collect()} == {"reactions"}


def test_readme_dependency_is_met_by_the_installed_engine(tmp_path: Path) -> None:
    """The README: install the engine, then the package; pip finds ``spark-enrich`` met and
    asks no index for it (``--no-index`` would fail the install if it did)."""
    if not _can_build_wheels():
        pytest.skip("setuptools cannot build the package's metadata without build isolation")
    module_file, code, toml = readme_blocks()
    assert 'dependencies = ["spark-enrich"]' in toml
    package = tmp_path / "package"
    package.mkdir()
    (package / module_file).write_text(code, encoding="utf-8")
    (package / "pyproject.toml").write_text(toml, encoding="utf-8")
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--no-index",
            "--no-build-isolation", "--report", str(report), str(package),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    assert [item["metadata"]["name"] for item in installs] == ["reactions-executor"]
