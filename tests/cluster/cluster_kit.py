"""What the packaging and cluster tests share: an executor package installed with pip (it calls
an enrichment service, so its code runs in the Python workers), its pipeline, and
``spark-enrich package`` run with that package importable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

BIN = Path(sys.executable).parent
MODULE = "cluster_lang_executor"

EXECUTOR = '''
"""Pin shares with the pin's language from the ``lang`` service (a call on the workers)."""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_enrich import EnrichContext, Executor, executor


@executor(name="cluster_lang", version="1.0.0", event_types=["pin_share"], services=["lang"])
class ClusterLang(Executor):
    """Pin shares with their language."""

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        return ctx.call_service("lang", df)

    def normalise(self, df: DataFrame) -> DataFrame:
        return df.withColumn("event_date", F.to_date("event_time"))
'''

PYPROJECT = f"""
[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "cluster-lang-executor"
version = "1.0.0"
dependencies = ["spark-enrich"]

[tool.setuptools]
py-modules = ["{MODULE}"]

[project.entry-points."spark_enrich.executors"]
cluster_lang = "{MODULE}"
"""


def install_executor_package(tmp: Path) -> Path:
    """``pip install --target`` the executor package; returns the folder to put on PYTHONPATH."""
    source, site = tmp / "source", tmp / "site"
    source.mkdir(parents=True)
    (source / f"{MODULE}.py").write_text(EXECUTOR, encoding="utf-8")
    (source / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
            "--no-build-isolation", "--target", str(site), str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    return site


def language(pin_id: str) -> str:
    """The ``lang`` service's answer for a pin."""
    return ["en", "de", "fr", "ja"][int(pin_id[1:]) % 4]


def events(count: int) -> list[str]:
    """``count`` pin-share events, as JSON payloads."""
    return [
        json.dumps(
            {
                "event_id": f"e{i:05d}",
                "event_type": "pin_share",
                "pin_id": f"p{i % 37}",
                "event_time": f"2026-01-0{1 + i % 5}T10:00:00Z",
            }
        )
        for i in range(count)
    ]


def write_pipeline(folder: Path, raw: Path, service_url: str) -> Path:
    """The pipeline reading ``raw`` (a Delta table of payloads) into ``folder/out``."""
    path = folder / "cluster.yaml"
    path.write_text(
        textwrap.dedent(f"""\
            name: cluster
            version: "1"
            sources: [{{name: raw, kind: delta, path: {raw}, payload_column: value}}]
            decoding:
              schema: "event_id STRING, event_type STRING, pin_id STRING, event_time STRING"
              required: [event_id, event_time]
            executors: [{{name: cluster_lang}}]
            enrichments:
              services:
                - {{name: lang, url: "{service_url}", batch_size: 16, timeout: 10s,
                   retries: 1, backoff: 10ms, on_failure: dead_letter, request_columns: [pin_id],
                   response_schema: "language STRING"}}
            output:
              columns:
                - {{name: event_id, type: string, nullable: false}}
                - {{name: pin_id, type: string}}
                - {{name: language, type: string}}
                - {{name: event_date, type: date, nullable: false}}
              key: [event_id]
            sink: {{path: {folder / "out"}, mode: append}}
            dead_letters: {{path: {folder / "dead"}}}
            runtime: {{batch: {{source: raw, date_column: event_date}}}}
            observability: {{metrics: {{kind: none}}}}
            """),
        encoding="utf-8",
    )
    return path


def with_path(site: Path) -> dict[str, str]:
    """This process's environment with ``site`` first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return env


def package(site: Path, pipeline: str, archive: Path) -> subprocess.CompletedProcess[str]:
    """``spark-enrich package PIPELINE -o ARCHIVE`` with the executor package importable."""
    return subprocess.run(
        [str(BIN / "spark-enrich"), "package", pipeline, "-o", str(archive)],
        env=with_path(site),
        capture_output=True,
        text=True,
        timeout=600,
    )
