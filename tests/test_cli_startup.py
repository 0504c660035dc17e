"""The command line must answer without starting a JVM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).parent / "spark-enrich")


def test_help_lists_commands() -> None:
    result = subprocess.run(
        [CLI, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "kafka" in result.stdout


def test_cli_import_does_not_import_pyspark() -> None:
    # No pyspark import means no JVM: that is what keeps --help and validate under 2 s.
    code = "import sys, spark_enrich.cli; print('pyspark' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "False", result.stderr
