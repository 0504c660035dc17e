"""``spark-enrich package``: an archive that is a working virtual environment without the
project installed anywhere else, holding the engine, an executor package installed with pip and
their dependencies but not pyspark, and the spark-submit lines that use it."""

from __future__ import annotations

import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

import pyspark
import pytest
from cluster_kit import install_executor_package, package

from spark_enrich.session import LOG4J_CONFIG

SPARK_PYTHON = Path(pyspark.__file__).parent / "python" / "lib"


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("package")
    site = install_executor_package(tmp)
    archive = tmp / "dist" / "env.tar.gz"
    done = package(site, "pipelines/demo.yaml", archive)
    assert done.returncode == 0, done.stderr
    return archive, done.stdout


def test_the_archive_is_an_environment_that_imports_the_engine_and_executor_packages(
    packed: tuple[Path, str], tmp_path: Path
) -> None:
    archive, _ = packed
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "environment", filter="tar")
    assert not any("/site-packages/pyspark/" in n or "/site-packages/py4j/" in n for n in names)
    python = tmp_path / "environment" / "bin" / "python"
    # As on a worker: only the cluster's pyspark on the path, started from another folder.
    spark_path = ":".join(str(p) for p in sorted(SPARK_PYTHON.glob("*.zip")))
    probe = (
        "import sys, spark_enrich, pandas, pyarrow, httpx\n"
        "from spark_enrich.registry import default_registry\n"
        "print(sys.prefix)\n"
        "print(spark_enrich.__file__)\n"
        "print(' '.join(default_registry().names()))\n"
    )
    done = subprocess.run(
        [str(python), "-c", probe],
        env={"PYTHONPATH": spark_path, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    prefix, engine, executors = done.stdout.splitlines()
    assert Path(prefix) == tmp_path / "environment"
    assert Path(engine).is_relative_to(tmp_path / "environment")
    # The repository's example executors and the package installed with pip --target.
    assert {"cluster_lang", "engagement"} <= set(executors.split())


def test_package_prints_the_spark_submit_line_of_each_cluster_manager(
    packed: tuple[Path, str],
) -> None:
    archive, out = packed
    assert str(archive) in out.splitlines()[0]
    titled = (b.partition("\n") for b in out.split("\n# ")[1:])
    blocks = {title: block for title, _, block in titled}
    assert len(blocks) == 3
    for title, block in blocks.items():
        words = shlex.split(block.replace("\\\n", " "))
        assert words[0] == "spark-submit", title
        assert f"{archive}#environment" in words, title
        assert "spark.pyspark.python=./environment/bin/python" in words, title
        assert words[-4:] == ["run", words[-3], "--mode", "batch"], title
        assert words[-5].endswith("spark_enrich/__main__.py"), title
        # Jars as files (no Ivy resolution, and its report, at each start); the driver at WARN.
        assert "--packages" not in words, title
        jars = words[words.index("--jars") + 1].split(",")
        assert any(Path(j).name.startswith("io.delta_delta-spark_") for j in jars), jars
        assert any("spark-sql-kafka" in Path(j).name for j in jars), jars
        assert all(Path(j).is_file() for j in jars), jars
        # The driver logs warnings and errors only: here by the engine's log4j file, on the
        # cluster from the SparkContext's start.
        if title.startswith("standalone"):
            options = words[words.index("--driver-java-options") + 1]
            assert options == f"-Dlog4j.configurationFile={LOG4J_CONFIG}", options
        else:
            assert "spark.log.level=WARN" in words, title
    standalone = next(b for t, b in blocks.items() if t.startswith("standalone"))
    assert f"spark.pyspark.driver.python={sys.executable}" in standalone
    assert standalone.rstrip().endswith("run pipelines/demo.yaml --mode batch")
    cluster_mode = [b for t, b in blocks.items() if not t.startswith("standalone")]
    for block in cluster_mode:  # the driver runs on the cluster: the file goes with it
        assert "--files pipelines/demo.yaml" in block
        assert block.rstrip().endswith("run demo.yaml --mode batch")
