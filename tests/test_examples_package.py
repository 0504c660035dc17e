"""The example executors ship as ``spark_enrich_examples`` (#22 item 4): a user's own
``executors`` package, first on ``sys.path`` as the current folder is for ``python -m``, does not
shadow them (it did when they were the wheel's top-level ``executors`` package: the demo
reported UNKNOWN_EXECUTOR). No JVM starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = {"engagement", "impressions", "search", "sequence_items"}

USERS_EXECUTORS = '''"""A user's own executors, in their project's executors/ folder."""
from spark_enrich import Executor, executor


@executor(name="my_clicks", version="1.0", event_types=["my_click"])
class MyClicks(Executor):
    """The user's executor."""
'''

# Imports the user's package as `executors` (it is first on sys.path), then asks the registry.
SCRIPT = """
import json, executors
from spark_enrich.registry import default_registry
print(json.dumps({"executors": executors.__file__, "names": default_registry().names()}))
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "executors").mkdir()
    (tmp_path / "executors" / "__init__.py").write_text(USERS_EXECUTORS)
    return tmp_path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_a_users_executors_package_does_not_shadow_the_examples(tmp_path: Path) -> None:
    project = _project(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=project, env=_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["executors"] == str(project / "executors" / "__init__.py")
    assert set(found["names"]) == EXAMPLES | {"my_clicks"}


def test_validate_of_the_demo_passes_beside_a_users_executors_package(tmp_path: Path) -> None:
    project = _project(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "spark_enrich", "validate", str(REPO / "pipelines" / "demo.yaml")],
        cwd=project, env=_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "UNKNOWN_EXECUTOR" not in done.stdout + done.stderr
