"""The engine/executor boundary, checked in code (DESIGN.md, "The boundary is the product").

(a) the engine never imports the example executors (``spark_enrich_examples``, in
    ``executors/``) nor a package named ``executors``;
(b) executors import only the engine's public API: ``import spark_enrich`` or
    ``from spark_enrich import <name in __all__>``, never ``spark_enrich.<module>``;
(c) executors do no I/O, change no session settings, and use no Python UDFs.

Each checker takes the folder to check, and each is shown able to fail on a bad module.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "spark_enrich"
# Every executor package of this repository lives in executors/ (the examples:
# executors/spark_enrich_examples).
EXECUTORS = ROOT / "executors"
# What the engine must never import: the example executors, and a user's own `executors`.
EXECUTOR_PACKAGES = ("spark_enrich_examples", "executors")

# Attribute access that means reading or writing data, whether called or not (`spark.read`).
IO_ATTRIBUTES = frozenset(
    {"read", "readStream", "write", "writeStream", "sparkSession", "sparkContext", "rdd"}
)
# Method calls that run a job, start a query, move data to the driver or leave Spark.
IO_CALLS = frozenset(
    {
        "start", "collect", "toPandas", "count", "show", "toLocalIterator", "take", "head",
        "first", "foreach", "foreachPartition", "foreachBatch", "saveAsTable", "insertInto",
        "save", "read_text", "write_text", "read_bytes", "write_bytes", "urlopen",
    }
)  # fmt: skip
# Python code that runs per row: not allowed, executors use native Spark expressions.
UDF_NAMES = frozenset(
    {"udf", "pandas_udf", "udtf", "mapInPandas", "mapInArrow", "applyInPandas", "applyInArrow"}
)
NETWORK_MODULES = frozenset(
    {"requests", "httpx", "urllib", "urllib3", "socket", "http", "aiohttp", "subprocess"}
)
# pyspark.sql.functions has aggregates named like actions (`F.count`, `F.first`): they are fine.
FUNCTIONS_MODULES = ("pyspark.sql.functions", "pyspark.sql.connect.functions")


def _python_files(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) of every import in ``path``; relative imports
    are resolved against the package ``path`` lives in (``root`` is its parent folder)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module, [alias.name for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and _called_name(node) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value, []


def _called_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return ""


def _is_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def engine_imports_of_executors(engine_dir: Path = ENGINE) -> list[str]:
    """Every place under ``engine_dir`` that imports an executor package."""
    return [
        f"{path}:{line}: imports {module}"
        for path in _python_files(engine_dir)
        for line, module, _ in _imports(path, engine_dir.parent)
        if any(_is_package(module, package) for package in EXECUTOR_PACKAGES)
    ]


def public_api(init: Path = ENGINE / "__init__.py") -> frozenset[str]:
    """The names in ``spark_enrich.__all__``, read without importing the package."""
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    raise AssertionError(f"{init} defines no __all__")


def executor_imports_of_engine_internals(
    executors_dir: Path = EXECUTORS, public: frozenset[str] | None = None
) -> list[str]:
    """Every import under ``executors_dir`` of something else than spark_enrich's public API."""
    allowed = public_api() if public is None else public
    problems = []
    for path in _python_files(executors_dir):
        for line, module, names in _imports(path, executors_dir.parent):
            if not _is_package(module, "spark_enrich"):
                continue
            if module != "spark_enrich":
                problems.append(f"{path}:{line}: imports engine internals {module}")
                continue
            for name in sorted(set(names) - allowed):
                problems.append(f"{path}:{line}: imports spark_enrich.{name}, not in __all__")
    return problems


def _functions_aliases(tree: ast.AST) -> set[str]:
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname for a in node.names if a.name in FUNCTIONS_MODULES and a.asname}
        elif isinstance(node, ast.ImportFrom) and node.module in (
            "pyspark.sql",
            "pyspark.sql.connect",
        ):
            aliases |= {a.asname or a.name for a in node.names if a.name == "functions"}
    return aliases


def executor_io(executors_dir: Path = EXECUTORS) -> list[str]:
    """Every I/O call, session change, network import or Python UDF under ``executors_dir``."""
    problems = []
    for path in _python_files(executors_dir):
        tree = ast.parse(path.read_text(), filename=str(path))
        functions = _functions_aliases(tree)
        for line, module, _ in _imports(path, executors_dir.parent):
            if module.split(".")[0] in NETWORK_MODULES:
                problems.append(f"{path}:{line}: imports {module} (network/process access)")
        for node in ast.walk(tree):
            where = f"{path}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute):
                receiver = node.value
                on_functions = isinstance(receiver, ast.Name) and receiver.id in functions
                if node.attr in IO_ATTRIBUTES:
                    problems.append(f"{where}: .{node.attr} (I/O)")
                elif node.attr in UDF_NAMES:
                    problems.append(f"{where}: .{node.attr} (Python UDF)")
                elif (
                    node.attr in {"set", "unset"}
                    and isinstance(receiver, ast.Attribute)
                    and receiver.attr == "conf"
                ):
                    problems.append(f"{where}: .conf.{node.attr} (session settings)")
                elif node.attr == "SparkSession":
                    problems.append(f"{where}: SparkSession")
                elif node.attr in IO_CALLS and not on_functions and _is_called(node, tree):
                    problems.append(f"{where}: .{node.attr}() (action or I/O)")
            elif isinstance(node, ast.Name) and node.id in {"SparkSession", *UDF_NAMES}:
                problems.append(f"{where}: {node.id}")
            elif isinstance(node, ast.alias) and node.name.split(".")[-1] in {
                "SparkSession",
                *UDF_NAMES,
            }:
                problems.append(f"{where}: imports {node.name}")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"open", "exec", "eval", "__import__"}
            ):
                problems.append(f"{where}: {node.func.id}()")
    return problems


def _is_called(attribute: ast.Attribute, tree: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and n.func is attribute for n in ast.walk(tree))


# --- the real code keeps the boundary ------------------------------------------------------


def test_the_engine_never_imports_executors() -> None:
    assert engine_imports_of_executors() == []


def test_executors_import_only_the_public_api() -> None:
    assert executor_imports_of_engine_internals() == []


def test_executors_do_no_io_and_use_no_python_udfs() -> None:
    assert executor_io() == []


def _lint_imports() -> str:
    found = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    assert Path(found).exists(), "lint-imports (import-linter) is not installed"
    return found


def test_import_linter_contracts_are_kept() -> None:
    result = subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "engine (spark_enrich) never imports the example executors package KEPT" in result.stdout


# --- each check fails on a module that breaks the rule -------------------------------------


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_engine_check_reports_every_kind_of_import_of_executors(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "engine/__init__.py": "",
            "engine/ok.py": "import executorsish\nfrom engine import x\n",
            "engine/bad.py": (
                "import spark_enrich_examples\n"
                "from spark_enrich_examples.engagement import Engagement\n"
                "import importlib\n"
                "mod = importlib.import_module('executors.search')\n"
            ),
        },
    )
    bad = tmp_path / "engine" / "bad.py"

    assert engine_imports_of_executors(tmp_path / "engine") == [
        f"{bad}:1: imports spark_enrich_examples",
        f"{bad}:2: imports spark_enrich_examples.engagement",
        f"{bad}:4: imports executors.search",
    ]


def test_executor_import_check_reports_engine_internals(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "plugins/__init__.py": "from .common import helper\n",
            "plugins/common.py": "helper = 1\n",
            "plugins/bad.py": (
                "import spark_enrich\n"
                "from spark_enrich import Executor, executor\n"
                "import spark_enrich.session\n"
                "from spark_enrich.registry import default_registry\n"
                "from spark_enrich import registry\n"
            ),
        },
    )
    bad = tmp_path / "plugins" / "bad.py"

    problems = executor_imports_of_engine_internals(tmp_path / "plugins", public_api())

    assert problems == [
        f"{bad}:3: imports engine internals spark_enrich.session",
        f"{bad}:4: imports engine internals spark_enrich.registry",
        f"{bad}:5: imports spark_enrich.registry, not in __all__",
    ]


def test_io_check_reports_io_session_changes_network_and_udfs(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "plugins/__init__.py": "",
            "plugins/fine.py": (
                "from pyspark.sql import functions as F\n"
                "def stage(df):\n"
                "    return df.groupBy('k').agg(F.count('x'), F.first('y'))\n"
            ),
            "plugins/bad.py": (
                "import socket\n"  # 1
                "from pyspark.sql import SparkSession\n"  # 2
                "def stage(df):\n"  # 3
                "    spark = df.sparkSession\n"  # 4
                "    spark.conf.set('spark.sql.shuffle.partitions', '1')\n"  # 5
                "    other = spark.read.parquet('/tmp/x')\n"  # 6
                "    n = df.count()\n"  # 7
                "    rows = df.collect()\n"  # 8
                "    df.write.save('/tmp/y')\n"  # 9
                "    df.writeStream.start()\n"  # 10
                "    df.show()\n"  # 11
                "    pdf = df.toPandas()\n"  # 12
                "    secret = open('/etc/passwd').read()\n"  # 13
                "    from pyspark.sql.functions import udf\n"  # 14
                "    return df\n"
            ),
        },
    )
    bad = tmp_path / "plugins" / "bad.py"

    problems = executor_io(tmp_path / "plugins")

    assert all(p.startswith(f"{bad}:") for p in problems), problems
    lines = {int(p.split(":")[1]) for p in problems}
    assert lines == set(range(1, 15)) - {3}, problems
    assert f"{bad}:1: imports socket (network/process access)" in problems
    assert f"{bad}:5: .conf.set (session settings)" in problems
    assert f"{bad}:7: .count() (action or I/O)" in problems
    assert f"{bad}:14: imports udf" in problems


@pytest.mark.parametrize("importer", ["engine/core.py", "engine/sub/deep.py"])
def test_import_linter_fails_when_the_engine_imports_plugins(tmp_path: Path, importer: str) -> None:
    _write(
        tmp_path,
        {
            "engine/__init__.py": "",
            "engine/sub/__init__.py": "",
            importer: "import plugins.thing\n",
            "plugins/__init__.py": "",
            "plugins/thing.py": "",
            "contracts.toml": (
                "[tool.importlinter]\n"
                'root_packages = ["engine", "plugins"]\n'
                "[[tool.importlinter.contracts]]\n"
                'name = "engine never imports plugins"\n'
                'type = "forbidden"\n'
                'source_modules = ["engine"]\n'
                'forbidden_modules = ["plugins"]\n'
            ),
        },
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    result = subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo", "contracts.toml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode != 0, result.stdout + result.stderr
    assert "engine never imports plugins BROKEN" in result.stdout
