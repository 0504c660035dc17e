"""``spark-enrich validate`` and ``spark-enrich schema``, run as the user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from support.config import BROKEN, TESTS, VALID

from spark_enrich.config import pipeline_json_schema

ROOT = TESTS.parent
CLI = str(Path(sys.executable).parent / "spark-enrich")
DEMO = "pipelines/demo.yaml"
LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<path>\S+): .+ \[(?P<code>[A-Z_]+)\]"
)

# Runs the CLI in-process with the executors the demo needs (the repo's executors when they
# load, else stand-ins; see support.config.demo_registry) plus the corpus's test executors.
# Afterwards it reports whether a JVM was started, which validate must never do.
_RUN = """
import json, sys
sys.path.insert(0, {helpers!r})
from support.config import declare_demo_stubs, declare_test_executors
from spark_enrich.registry import default_registry
try:
    import spark_enrich_examples  # noqa: F401
except Exception:
    pass
registry = default_registry()
try:
    ok = "engagement" in registry
except Exception:
    ok = False
if not ok:
    registry._entry_points_loaded = True
    declare_demo_stubs(registry)
declare_test_executors(registry)  # the executors the broken corpus refers to
from spark_enrich.cli import app
try:
    app(sys.argv[1:], prog_name="spark-enrich")
    code = 0
except SystemExit as exc:
    code = exc.code or 0
jvm = False
if "pyspark" in sys.modules:
    from pyspark import SparkContext
    jvm = SparkContext._gateway is not None or SparkContext._active_spark_context is not None
print(json.dumps({{"exit": code, "jvm": jvm}}), file=sys.stderr)
sys.exit(code)
"""


def _validate(*args: str) -> subprocess.CompletedProcess[str]:
    code = _RUN.format(helpers=str(TESTS))
    return subprocess.run(
        [sys.executable, "-c", code, "validate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    )


def _problem_lines(stderr: str) -> list[re.Match[str]]:
    return [m for m in (LINE.match(line) for line in stderr.splitlines()) if m]


def test_valid_file_exits_0_without_a_jvm() -> None:
    # No timing here (a loaded CI machine failed a 2 s bound): what makes validate fast is
    # that it starts no JVM, which the status line reports from the process itself.
    result = _validate(DEMO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{DEMO}: ok"
    status = json.loads(result.stderr.strip().splitlines()[-1])
    assert status == {"exit": 0, "jvm": False}


def test_invalid_file_exits_2_with_one_problem_per_line() -> None:
    path = str((BROKEN / "many_problems.yaml").relative_to(ROOT))
    result = _validate(path)
    assert result.returncode == 2
    lines = _problem_lines(result.stderr)
    assert [(m["code"], m["path"], m["line"], m["col"]) for m in lines] == [
        ("ENV_VAR_MISSING", "sources[0].bootstrap_servers", "12", "24"),
        ("WRONG_TYPE", "sources[0].topics", "13", "13"),
        ("UNKNOWN_EXECUTOR", "executors[1].name", "23", "11"),
        ("NOT_IN_OUTPUT", "output.key[0]", "38", "9"),
        ("BAD_DURATION", "runtime.batch.chunk", "48", "60"),
    ]
    assert {m["file"] for m in lines} == {path}
    assert "5 problems found" in result.stderr


def test_several_files_report_each_and_exit_2_if_any_is_invalid() -> None:
    broken = str((BROKEN / "a_directory.yaml").relative_to(ROOT))
    result = _validate(DEMO, broken)
    assert result.returncode == 2
    assert f"{DEMO}: ok" in result.stdout
    # A directory has no line and column: `FILE: path: message`, not `FILE:0:0:`.
    assert f"{broken}: (root): the path is a directory, not a YAML file [NOT_A_FILE]" in (
        result.stderr.splitlines()
    )
    assert ":0:0:" not in result.stderr


def test_json_format_for_machines() -> None:
    broken = str((BROKEN / "unknown_key_suggests.yaml").relative_to(ROOT))
    result = _validate("--format", "json", DEMO, broken)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert [(f["file"], f["valid"]) for f in report["files"]] == [(DEMO, True), (broken, False)]
    (problem,) = report["files"][1]["problems"]
    assert problem["code"] == "UNKNOWN_KEY"
    assert problem["path"] == "sink.partition"
    assert (problem["line"], problem["column"]) == (37, 3)
    assert problem["example"] == "partition_by"
    assert "did you mean `partition_by`?" in problem["message"]


def test_set_overrides_apply_and_are_validated() -> None:
    assert _validate(DEMO, "--set", "sink.mode=append").returncode == 0
    result = _validate(DEMO, "--set", "sink.mode=upsert")
    assert result.returncode == 2
    (line,) = _problem_lines(result.stderr)
    assert (line["file"], line["line"], line["path"], line["code"]) == (
        "--set",
        "1",
        "sink.mode",
        "NOT_ALLOWED",
    )


def test_two_pipelines_sharing_a_checkpoint_fail_together() -> None:
    result = _validate(DEMO, DEMO)
    assert result.returncode == 2
    found = {(m["file"], m["path"], m["code"]) for m in _problem_lines(result.stderr)}
    assert (DEMO, "runtime.stream.checkpoint", "SHARED_CHECKPOINT") in found
    assert (DEMO, "sink.path", "NESTED_PATHS") in found


def test_schema_prints_the_json_schema_without_a_jvm() -> None:
    # The installed executors are imported for their params models (and import pyspark's
    # Python modules), but no Spark gateway starts.
    code = (
        "import sys\n"
        "from spark_enrich.cli import app\n"
        "try:\n"
        "    app(['schema'], prog_name='spark-enrich')\n"
        "except SystemExit:\n"
        "    pass\n"
        "from pyspark import SparkContext\n"
        "jvm = SparkContext._gateway or SparkContext._active_spark_context\n"
        "print('JVM' if jvm is not None else 'NO-JVM', file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema == pipeline_json_schema()
    assert schema["$defs"]["ExecutorConfig"]["properties"]["name"]["enum"] == [
        "engagement",
        "impressions",
        "search",
        "sequence_items",
    ]
    assert result.stderr.strip().endswith("NO-JVM")


def test_schema_console_script_markdown() -> None:
    result = subprocess.run(
        [CLI, "schema", "--format", "markdown"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_validation_itself_imports_no_pyspark() -> None:
    # With a registry of executors that do not import pyspark, loading and validating a file
    # (models, rules, DDL parsing) must not import it either.
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(TESTS)!r})\n"
        "from support.config import make_registry\n"
        "from spark_enrich.config import load_pipeline, ConfigError\n"
        f"load_pipeline({str(VALID / 'base.yaml')!r}, env={{}}, registry=make_registry())\n"
        "try:\n"
        f"    load_pipeline({str(BROKEN / 'many_problems.yaml')!r}, env={{}},"
        " registry=make_registry())\n"
        "except ConfigError:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _flood(tmp_path: Path, keys: int, name: str) -> str:
    """The valid base file plus ``keys`` unknown keys of 200 characters each."""
    text = (VALID / "base.yaml").read_text(encoding="utf-8")
    path = tmp_path / name
    path.write_text(text + "".join(f"{'q' * 195}{i:05d}: 1\n" for i in range(keys)), "utf-8")
    return str(path)


def _status(stderr: str) -> str:
    """stderr without the runner's own last line (exit code, JVM)."""
    return stderr.rstrip("\n").rsplit("\n", 1)[0] + "\n"


def test_validate_lists_50_problems_then_counts_the_rest(tmp_path: Path) -> None:
    # 480,000 unknown keys printed 118 MB: the output is bounded whatever the input's size.
    outputs = {}
    for keys in (1_000, 3_000):
        path = _flood(tmp_path, keys, f"flood{keys}.yaml")
        result = _validate(path)
        assert result.returncode == 2
        stderr = _status(result.stderr)
        lines = _problem_lines(stderr)
        assert len(lines) == 50
        assert {m["code"] for m in lines} == {"UNKNOWN_KEY"}
        assert [int(m["line"]) for m in lines] == sorted(int(m["line"]) for m in lines)
        tail = stderr.splitlines()[-2:]
        assert tail == [f"{path}: … and {keys - 50:,} more problems", f"{keys:,} problems found"]
        outputs[keys] = stderr.replace(path, "FILE")
    assert len(outputs[3_000].encode()) < 32_000
    # Three times the keys, the same output but for the counts and line numbers' digits.
    assert abs(len(outputs[3_000]) - len(outputs[1_000])) < 10


def test_json_lists_50_problems_with_the_total_count(tmp_path: Path) -> None:
    path = _flood(tmp_path, 3_000, "flood.yaml")
    result = _validate("--format", "json", DEMO, path)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    demo, flood = report["files"]
    assert (demo["problem_count"], demo["problems"]) == (0, [])
    assert flood["problem_count"] == 3_000
    assert len(flood["problems"]) == 50
    assert {p["code"] for p in flood["problems"]} == {"UNKNOWN_KEY"}
    assert len(result.stdout.encode()) < 40_000


def test_a_huge_file_is_one_short_problem(tmp_path: Path) -> None:
    # A 5 MB invalid value stands for the 50 MB one: both are over the 1 MiB cap.
    text = (VALID / "base.yaml").read_text(encoding="utf-8")
    path = tmp_path / "huge.yaml"
    path.write_text(text.replace("chunk: 1d", "chunk: " + "x" * 5_000_000), encoding="utf-8")
    result = _validate(str(path))
    assert result.returncode == 2
    stderr = _status(result.stderr)
    assert f"{path}: (root): the file is {path.stat().st_size:,} bytes" in stderr
    assert "[FILE_TOO_LARGE]" in stderr
    assert len(stderr.encode()) < 1_000


def test_run_lists_50_problems_too(tmp_path: Path) -> None:
    # `run` validates before Spark starts and prints the same bounded list.
    path = _flood(tmp_path, 1_000, "flood.yaml")
    result = subprocess.run(
        [CLI, "run", path, "--mode", "batch"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert len(_problem_lines(result.stderr)) == 50
    assert re.fullmatch(
        rf"{re.escape(path)}: … and [\d,]+ more problems", result.stderr.splitlines()[-1]
    )
    assert len(result.stderr.encode()) < 32_000
