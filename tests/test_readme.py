"""The README's commands must stay true: every ``spark-enrich`` command it shows exists, and the
two fresh-machine commands are the Makefile targets that CI runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CLI = str(Path(sys.executable).parent / "spark-enrich")


def _shown_commands() -> list[tuple[str, ...]]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    found = set()
    for block in blocks:
        for line in block.splitlines():
            match = re.match(r"\s*spark-enrich ((?:[a-z]+)(?: [a-z]+)?)", line)
            if match:
                words = tuple(w for w in match.group(1).split() if "|" not in w)
                found.add(words)
    return sorted(found)


def test_readme_shows_commands() -> None:
    assert ("validate",) in {c[:1] for c in _shown_commands()}


@pytest.mark.parametrize("command", _shown_commands(), ids=" ".join)
def test_every_command_in_the_readme_exists(command: tuple[str, ...]) -> None:
    words = list(command)
    result = subprocess.run(
        [CLI, *words, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0 and len(words) == 2:
        # "spark-enrich run pipelines/..." style lines: the second word is an argument.
        result = subprocess.run(
            [CLI, words[0], "--help"], capture_output=True, text=True, timeout=60, check=False
        )
    assert result.returncode == 0, f"spark-enrich {' '.join(words)}: {result.stderr}"


def test_fresh_machine_commands_are_make_demo_and_make_test() -> None:
    assert "make demo" in README and "make test" in README
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
