"""The ``testing`` extra gives executor authors what ``spark_enrich.testing`` imports (pytest,
chispa) and none of this repository's dev tools."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_testing_extra_is_pytest_and_chispa_only() -> None:
    extras = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert _names(extras["testing"]) == {"pytest", "chispa"}
    # What spark_enrich.testing imports is in the extra; dev tools are not.
    assert not _names(extras["testing"]) & {"ruff", "mypy", "import-linter", "jsonschema"}
    assert _names(extras["testing"]) <= _names(extras["dev"])
