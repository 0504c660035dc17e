"""ruff and mypy are part of the suite: a lint, format or type error fails the build like a
test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env=env
    )


def test_ruff_reports_no_problem() -> None:
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_would_change_nothing() -> None:
    # Covers the Python blocks of README.md too (ruff formats Markdown code blocks).
    result = _run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_reports_no_problem() -> None:
    result = _run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


# Test folders import the shared helpers as the `support` package (pytest's `pythonpath`), and
# several have a conftest.py: each folder is checked on its own. They share one cache, so pyspark's
# stubs are analysed once rather than once per folder (mypy re-checks a module whose path changed).
TEST_FOLDERS = sorted({p.parent.name for p in (ROOT / "tests").glob("*/test_*.py")})


@pytest.mark.parametrize("folder", TEST_FOLDERS)
def test_mypy_strict_on_each_test_folder(folder: str) -> None:
    target = ROOT / "tests" / folder
    cache = ROOT / ".mypy_cache" / "tests"
    result = _run(
        str(BIN / "mypy"), "--cache-dir", str(cache), str(target),
        env={**os.environ, "MYPYPATH": str(ROOT / "tests")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_benchmarks_and_top_level_tests() -> None:
    files = [str(p) for p in sorted((ROOT / "tests").glob("test_*.py"))]
    result = _run(str(BIN / "mypy"), "benchmarks", "conftest.py", *files)
    assert result.returncode == 0, result.stdout + result.stderr
