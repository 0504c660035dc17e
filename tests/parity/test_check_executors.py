"""``spark-enrich check-executors`` on the shipped pipelines covers every executor the
installed packages register, and each is deterministic: a new executor that drifts, or one no
shipped pipeline runs, fails this test."""

from __future__ import annotations

import json
from importlib.metadata import entry_points

import pytest
from parity_kit import PIPELINES, QUIET, DemoData
from typer.testing import CliRunner

from spark_enrich.cli.app import app
from spark_enrich.registry import ENTRY_POINT_GROUP, default_registry


def installed_executors() -> set[str]:
    """Executors the installed packages' entry points declare (not the tests' own)."""
    registry = default_registry()
    registry.load_entry_points()
    modules = [e.value.split(":")[0] for e in entry_points(group=ENTRY_POINT_GROUP)]
    return {
        name
        for name in registry.names()
        if any(registry.get(name).spec.origin.startswith(f"{module}.") for module in modules)
    }


def _check(pipeline: str, *args: str) -> tuple[int, dict[str, object]]:
    sets = [arg for s in QUIET for arg in ("--set", s)]
    result = CliRunner().invoke(
        app,
        ["check-executors", str(PIPELINES / f"{pipeline}.yaml"), "--format", "json", *sets, *args],
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, json.loads(result.output)


def test_every_registered_executor_is_deterministic(
    demo_data: DemoData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data.folder))
    checked: dict[str, dict[str, object]] = {}
    for pipeline in ("demo", "sequences"):
        code, payload = _check(pipeline, "--sample", "400")
        for entry in payload["executors"]:  # type: ignore[attr-defined]
            checked[entry["executor"]] = entry
        assert code == 0, json.dumps(payload, indent=1)

    assert set(checked) == installed_executors(), "an executor no shipped pipeline runs"
    for name, entry in checked.items():
        assert entry["deterministic"] is True, entry
        assert int(entry["sample_rows"]) >= 20, f"{name}: too few sample events to show much"  # type: ignore[call-overload]


def test_an_unknown_executor_is_a_usage_error(demo_data: DemoData) -> None:
    result = CliRunner().invoke(
        app,
        ["check-executors", str(PIPELINES / "demo.yaml"), "--executor", "nope",
         "--set", f"sources[1].path={demo_data.folder}/raw"],
    )  # fmt: skip
    assert result.exit_code == 64, result.output
    assert "executor(s) ['nope'] not in pipeline 'demo'" in result.output
