"""Hostile configuration files: huge values, floods of keys, alias bombs and huge names give a
few short problems, never megabytes of output (issue #23, item 6).

No test here times anything (speed belongs in benchmarks): each asserts that the reader stops
at its caps and that what a problem shows is bounded, whatever the size of the input.
"""

from __future__ import annotations

import difflib
import random
from pathlib import Path

import pytest
from support.config import VALID

from spark_enrich.config import ConfigError, Problem, check_pipeline_files, load_pipeline
from spark_enrich.config.problems import close_match, format_path
from spark_enrich.registry import ExecutorRegistry

BASE_TEXT = (VALID / "base.yaml").read_text(encoding="utf-8")
MIB = 1024 * 1024


def _problems(tmp_path: Path, text: str, registry: ExecutorRegistry) -> list[Problem]:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return check_pipeline_files([path], env={}, registry=registry)[str(path)]


def _cut(text: str) -> str:
    """What a problem shows of a long text: its first 80 characters and its length."""
    return text[:80] + "… (" + format(len(text), ",") + " characters)"


def test_a_long_invalid_value_is_cut_in_its_problem(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    value = "x" * 500_000
    text = BASE_TEXT.replace("chunk: 1d", f"chunk: {value}")
    (problem,) = _problems(tmp_path, text, registry)
    assert (problem.code, problem.path) == ("BAD_DURATION", "runtime.batch.chunk")
    assert problem.message.startswith(f"'{_cut(value)}' is not a duration")
    assert len(problem.format()) < 600


def test_a_long_key_a_long_tagged_value_and_a_long_variable_are_cut(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    key, tagged, var = "k" * 300_000, "t" * 200_000, "V" * 100_000
    text = BASE_TEXT.replace("path: data/out", f"path: !!int {tagged}")
    text = text.replace("path: data/dead", "path: ${" + var + "}")
    problems = _problems(tmp_path, text + f"? {key}\n: 1\n", registry)  # a key of 1024+ needs `?`
    by_code = {p.code: p for p in problems}
    assert set(by_code) == {"UNKNOWN_KEY", "UNREADABLE_VALUE", "ENV_VAR_MISSING"}
    assert by_code["UNKNOWN_KEY"].found == _cut(key)
    assert by_code["UNKNOWN_KEY"].message == f"unknown key `{_cut(key)}`"
    assert by_code["UNKNOWN_KEY"].path == "['" + "k" * 80 + "…']"
    assert by_code["UNREADABLE_VALUE"].found == _cut(tagged)
    assert by_code["ENV_VAR_MISSING"].message == f"environment variable {_cut(var)} is not set"
    for problem in problems:
        assert len(problem.format()) < 1_000, problem.code


def test_any_field_of_a_problem_is_bounded() -> None:
    # The last bound, for a check that quotes a value the reader did not cut.
    huge = "y" * 1_000_000
    problem = Problem("BAD_VALUE", huge, "p.yaml", 1, 1, huge, huge, huge, huge)
    assert len(problem.format()) < 3_000
    assert problem.message == "y" * 500 + "… (1,000,000 characters)"


def test_a_long_key_in_a_path_is_cut() -> None:
    assert format_path(("sink", "p" * 81)) == "sink['" + "p" * 80 + "…']"
    assert format_path(("sink", "p" * 80)) == "sink." + "p" * 80


def test_a_file_over_one_mib_is_not_read(tmp_path: Path, registry: ExecutorRegistry) -> None:
    # The 50 MB pipeline name of the issue, smaller: any file over the cap is one problem.
    text = BASE_TEXT.replace("name: test", "name: " + "a" * (5 * MIB), 1)
    (problem,) = _problems(tmp_path, text, registry)
    size = len(text.encode())
    assert problem.code == "FILE_TOO_LARGE"
    assert (problem.line, problem.column) == (None, None)
    assert f"{size:,} bytes" in problem.message
    assert len(problem.format()) < 400


def test_a_file_of_exactly_one_mib_is_read(tmp_path: Path, registry: ExecutorRegistry) -> None:
    filler = "#" * 79 + "\n"
    text = BASE_TEXT + filler * ((MIB - len(BASE_TEXT)) // len(filler))
    text += "#" * (MIB - len(text) - 1) + "\n"
    assert len(text.encode()) == MIB
    assert _problems(tmp_path, text, registry) == []


def test_a_flood_of_keys_stops_reading_with_one_problem(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    # 60,000 unknown keys (120,000 keys and values) in 660 KB: one problem, not 60,000.
    flood = "".join(f"k{i:05d}: 1\n" for i in range(60_000))
    problems = _problems(tmp_path, BASE_TEXT + flood, registry)
    assert [p.code for p in problems] == ["FILE_TOO_LARGE"]
    assert "100,000 keys and values" in problems[0].message
    # It points into the flood, at the key or value past the cap.
    assert problems[0].line is not None and problems[0].line > BASE_TEXT.count("\n")


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "bomb:\n" + "".join(f"  {line}\n" for line in lines)


@pytest.mark.parametrize("where", ["before", "after"])
def test_an_alias_bomb_is_the_one_problem_reported(
    tmp_path: Path, registry: ExecutorRegistry, where: str
) -> None:
    # 9**9 values if expanded; the keys after the cap were "expected a string, found null".
    text = _alias_bomb() + BASE_TEXT if where == "before" else BASE_TEXT + _alias_bomb()
    problems = _problems(tmp_path, text, registry)
    assert [p.code for p in problems] == ["UNREADABLE_VALUE"]
    assert "expands to more than 100000 values" in problems[0].message
    assert problems[0].path.startswith("bomb.a")


_LONG = "n" * 129


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("name: test", f"name: {_LONG}", "name"),
        ("  - name: events", f"  - name: {_LONG}", "sources[0].name"),
        ("  - name: searches", f"  - name: {_LONG}", "executors[1].name"),
        ("{name: pins,", f"{{name: {_LONG},", "enrichments.tables[0].name"),
        ("    - name: lang", f"    - name: {_LONG}", "enrichments.services[0].name"),
        ("{source: archive,", f"{{source: {_LONG},", "runtime.batch.source"),
    ],
)
def test_a_name_has_at_most_128_characters(
    tmp_path: Path, registry: ExecutorRegistry, old: str, new: str, path: str
) -> None:
    assert old in BASE_TEXT
    problems = _problems(tmp_path, BASE_TEXT.replace(old, new, 1), registry)
    bad = [p for p in problems if p.code == "BAD_NAME"]
    assert [p.path for p in bad] == [path]
    assert bad[0].message == "the name is 129 characters long; a name has at most 128"
    assert bad[0].allowed == "at most 128 characters"


def test_a_name_of_128_characters_is_a_name(tmp_path: Path, registry: ExecutorRegistry) -> None:
    text = BASE_TEXT.replace("name: test", "name: " + "n" * 128, 1)
    assert _problems(tmp_path, text, registry) == []


def test_the_error_message_lists_50_problems_and_counts_the_rest(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(BASE_TEXT + "".join(f"k{i:04d}: 1\n" for i in range(3_000)), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_pipeline(path, env={}, registry=registry)
    error = info.value
    assert len(error.problems) == 3_000  # the Python API keeps them all
    lines = error.message.splitlines()
    assert lines[0] == "the pipeline configuration has 3,000 problems:"
    assert sum(line.endswith("[UNKNOWN_KEY]") for line in lines) == 50
    assert lines[-1] == f"  {path}: … and 2,950 more problems"
    assert error.message_parameters["problem_count"] == 3_000
    assert len(error.message_parameters["problems"]) == 50
    assert len(error.message) < 20_000


def test_suggestions_are_the_same_as_difflib_s() -> None:
    # close_match skips words too long to match; for every other word it is difflib.
    choices = ["mode", "partition_by", "path", "properties", "retention_days", "table"]
    rng = random.Random(23)
    letters = "abdeilmnoprstuy_"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 40))) for _ in range(3000)]
    words += ["partiton_by", "pth", "mode" * 7, "p" * 100_000]
    for word in words:
        expected = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
        assert close_match(word, choices) == (expected[0] if expected else None), word
