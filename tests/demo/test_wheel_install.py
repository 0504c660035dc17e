"""From an empty folder after a non-editable wheel install, ``spark-enrich demo run`` works and
prints at most ~30 lines (#22 item 4). The wheel is built from this checkout and installed into
a fresh virtual environment without its dependencies (offline); those come from this
environment's site-packages, put on the path by a ``.pth`` file (whose own ``.pth`` files, such
as the editable install's finder, are not processed: only the wheel's spark_enrich is seen).
A user's own ``executors`` package on PYTHONPATH does not shadow the example executors."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).parent.parent.parent


def _purelib(python: Path) -> Path:
    done = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(done.stdout.strip())


def test_demo_run_from_an_empty_folder_after_a_wheel_install(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(REPO)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (wheel,) = wheels.glob("spark_enrich-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (_purelib(python) / "dev-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    project = tmp_path / "project"  # a user's project with its own `executors` package
    (project / "executors").mkdir(parents=True)
    (project / "executors" / "__init__.py").write_text('"""A user\'s executors."""\n')
    where = subprocess.run(
        [str(python), "-c", "import spark_enrich; print(spark_enrich.__file__)"],
        cwd=empty, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(env_dir)), where.stdout  # the wheel's, not the checkout

    done = subprocess.run(
        [str(env_dir / "bin" / "spark-enrich"), "demo", "run", "--events", "2000"],
        cwd=empty, env={**env, "PYTHONPATH": str(project)}, capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip

    printed = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 0, "\n".join(printed[-60:])
    assert len(printed) <= 30, "\n".join(printed)
    assert any("enriched Delta table:" in line for line in printed)
    assert not any("UNKNOWN_EXECUTOR" in line for line in printed)
    assert (empty / "demo-output" / "enriched" / "_delta_log").is_dir()
    assert sorted(p.name for p in empty.iterdir()) == ["demo-output"]  # no spark-warehouse/
