"""A quiet, honest command line: no Ivy report or log4j chatter by default, more on request,
``--version``, usage errors apart from invalid configurations, help texts in plain text."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from pyspark.sql import SparkSession

from spark_enrich.cli.app import app
from spark_enrich.demo.generate import write_demo_data

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent / "spark-enrich")
IVY_REPORT = ("resolving dependencies", ":: modules in use", "confs: [default]")
# Spark's log4j pattern: "26/12/04 16:28:24 WARN NativeCodeLoader: ..."
LOG4J_LINE = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (TRACE|DEBUG|INFO|WARN) ", re.M)


def _cli(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    # A fresh process starts its own JVM: never the test session's gateway.
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    environ.pop("SPARK_ENRICH_LOG_LEVEL", None)
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=600, cwd=cwd,
        env={**environ, **env}, check=False,
    )  # fmt: skip


def test_a_batch_run_prints_its_report_and_no_ivy_or_log4j_lines(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_demo_data(spark, tmp_path, 200, seed=3)

    result = _cli(
        "run", "pipelines/demo.yaml", "--mode", "batch", SPARK_ENRICH_DEMO_DIR=str(tmp_path)
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("pipeline demo run "), result.stdout
    assert f"output:       {tmp_path / 'enriched'}" in result.stdout
    assert [m for m in IVY_REPORT if m in result.stderr] == [], result.stderr[:3000]
    assert LOG4J_LINE.findall(result.stderr) == [], result.stderr[:3000]
    assert "WARNING: Using incubator modules" not in result.stderr


def test_log_level_info_shows_the_jar_report_and_sparks_log(tmp_path: Path) -> None:
    result = _cli("--log-level", "INFO", "demo", "generate", "--events", "20", "--out", "d",
                  cwd=tmp_path)  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    assert [m for m in IVY_REPORT if m in result.stderr] == list(IVY_REPORT)
    assert "INFO" in LOG4J_LINE.findall(result.stderr)


def test_version_is_the_installed_distributions() -> None:
    result = _cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"spark-enrich {version('spark-enrich')}\n"


@pytest.mark.parametrize(
    "args",
    [
        ["run", "pipelines/demo.yaml", "--no-such-option"],
        ["run"],  # missing argument
        ["backfill", "pipelines/demo.yaml", "--from", "2024-01-01"],  # missing option
        ["run", "pipelines/demo.yaml", "--from", "yesterday"],  # bad value
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_64(args: list[str]) -> None:
    result = _cli(*args)
    assert result.returncode == 64, result.stderr


def test_an_invalid_configuration_still_exits_2() -> None:
    result = _cli("run", "tests/config/broken/many_problems.yaml")
    assert result.returncode == 2, result.stderr
    assert "[BAD_DURATION]" in result.stderr


def _commands(command: object, path: str = "spark-enrich") -> Iterator[tuple[str, object]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, f"{path} {name}")


def test_no_rest_markup_in_any_help_text() -> None:
    markup = re.compile(r"``|:(func|class|meth|data|attr|mod|py:\w+):`")
    found = []
    for path, command in _commands(typer.main.get_command(app)):
        texts = [getattr(command, "help", None), getattr(command, "short_help", None)]
        texts += [getattr(p, "help", None) for p in getattr(command, "params", [])]
        found += [(path, t) for t in texts if t and markup.search(t)]
    assert found == []
