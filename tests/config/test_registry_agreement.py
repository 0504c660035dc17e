"""``validate`` and a run resolve executors alike (#22): an installed executor package whose
entry point fails to import is the same error every time it is asked, never a half-loaded
registry that makes the next lookup say UNKNOWN_EXECUTOR for executors that are installed.

The broken package is a real distribution (a ``.dist-info`` with an entry point) on the
PYTHONPATH of a fresh interpreter; no JVM starts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "pipelines" / "demo.yaml"

# Validates twice, as a notebook would after the first error, then resolves an executor as the
# run's compile step does (registry.get).
SCRIPT = """
import json, sys
from spark_enrich.config import check_pipeline_files
from spark_enrich.errors import RegistryError
from spark_enrich.registry import default_registry
runs = [
    [(p.code, p.path) for p in check_pipeline_files([sys.argv[1]])[sys.argv[1]]]
    for _ in range(2)
]
try:
    default_registry().get("engagement")
    got = "found"
except RegistryError as exc:
    got = exc.error_class
print(json.dumps({"validate": runs, "get": got}))
"""


def _broken_package(site: Path) -> None:
    dist = site / "broken_reactions-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-reactions\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[spark_enrich.executors]\nreactions = broken_reactions\n"
    )
    (site / "broken_reactions.py").write_text("import a_module_that_is_not_installed\n")


def test_a_failing_entry_point_is_the_same_error_for_validate_and_the_run(tmp_path: Path) -> None:
    _broken_package(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(DEMO)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["validate"] == [[["REGISTRY_ERROR", "executors"]]] * 2
    assert found["get"] == "ENTRY_POINT_FAILED"


def test_validate_names_the_failing_entry_point_and_its_cause(tmp_path: Path) -> None:
    _broken_package(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "spark_enrich", "validate", str(DEMO)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    shown = done.stdout + done.stderr
    # FILE:LINE:COL: yaml.path: message, as every problem.
    assert re.search(
        rf"^{re.escape(str(DEMO))}:\d+:\d+: executors: the executor registry could not be loaded",
        shown,
        re.MULTILINE,
    ), shown
    assert "'reactions' = 'broken_reactions'" in shown
    assert "a_module_that_is_not_installed" in shown
    assert "[REGISTRY_ERROR]" in shown
