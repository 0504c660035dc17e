"""The broken-config corpus: every file in ``broken/`` fails with exactly the problems it declares.

Each file states its expectations in header comments, ``# expect: CODE yaml.path @LINE:COL``;
the test asserts the set of (code, path, line, column) equals what ``validate`` reports, so an
extra problem fails as surely as a missing one. Files that cannot carry comments (an empty file,
a directory) are listed in :data:`NO_HEADER`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.config import BROKEN, make_registry

from spark_enrich.config import CODES, ConfigError, load_pipeline
from spark_enrich.config.loading import check_pipeline_files

Expected = tuple[str, str, int | None, int | None]

NO_HEADER: dict[str, set[Expected]] = {
    "zero_bytes.yaml": {("EMPTY_FILE", "(root)", 1, 1)},
    "a_directory.yaml": {("NOT_A_FILE", "(root)", None, None)},
}
_EXPECT = re.compile(r"^# expect: (?P<code>[A-Z_0-9]+) (?P<path>\S+) @(?P<line>\d+):(?P<col>\d+)$")
CORPUS = sorted(BROKEN.glob("*.yaml"))


def _expected(path: Path) -> set[Expected]:
    if path.name in NO_HEADER:
        return NO_HEADER[path.name]
    found: set[Expected] = set()
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        match = _EXPECT.match(line)
        if match:
            found.add((match["code"], match["path"], int(match["line"]), int(match["col"])))
    return found


def test_the_corpus_is_large_and_covers_the_required_kinds() -> None:
    assert len(CORPUS) >= 30
    codes = {code for path in CORPUS for code, *_ in _expected(path)}
    required = {
        "WRONG_TYPE", "UNKNOWN_KEY", "MISSING_REQUIRED", "BAD_DDL", "BAD_DURATION",
        "ENV_VAR_MISSING", "UNKNOWN_EXECUTOR", "UNDECLARED_TABLE", "NESTED_PATHS",
        "YAML_SYNTAX", "EMPTY_FILE", "NOT_A_FILE", "NOT_UTF8",
    }  # fmt: skip
    assert required <= codes
    assert codes <= set(CODES), codes - set(CODES)


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_broken_config_reports_exactly_its_problems(path: Path) -> None:
    expected = _expected(path)
    assert expected, f"{path.name} declares no '# expect:' line"
    results = check_pipeline_files([path], env={}, registry=make_registry())
    problems = results[str(path)]
    got = {(p.code, p.path, p.line, p.column) for p in problems}
    assert got == expected, "\n".join(p.format() for p in problems)
    for problem in problems:
        assert problem.file == str(path)
        assert problem.message and problem.allowed


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_load_pipeline_raises_one_error_with_all_problems(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_pipeline(path, env={}, registry=make_registry())
    assert info.value.error_class == "CONFIG_INVALID"
    assert len(info.value.problems) == len(_expected(path))
