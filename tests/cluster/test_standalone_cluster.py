"""On a real multi-process cluster: a standalone master and worker started from pyspark's
``spark-class``, the worker's ``python3`` without this project. The archive of ``spark-enrich
package``, submitted with the standalone line it prints, runs a pipeline whose executor calls
an enrichment service from the Python workers, with output equal to a local run's."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_kit import (
    events,
    install_executor_package,
    language,
    package,
    with_path,
    write_pipeline,
)
from pyspark.sql import SparkSession
from standalone import SPARK_CLASS, Cluster, python_of_the_node, standalone_cluster

from spark_enrich.testing.http_service import EnrichmentService
from spark_enrich.testing.parity import assert_parity

pytestmark = pytest.mark.slow

EVENTS = 300
# Lines of the report spark-submit prints when it resolves --packages with Ivy.
IVY_REPORT = re.compile(
    r":: resolution report ::|Ivy Default Cache|confs: \[default\]|:: retrieving ::"
)
CLI = str(Path(sys.executable).parent / "spark-enrich")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with standalone_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture(scope="module")
def service() -> Iterator[EnrichmentService]:
    with EnrichmentService(lambda request: {"language": language(request["pin_id"])}) as s:
        yield s


def _submit(
    words: list[str], site: Path, cwd: Path
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run a spark-submit command line as a user's shell would, timed."""
    env = with_path(site)  # the driver (client mode) has the executor package, as here
    for name in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"):
        env.pop(name, None)
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    # What an installed Spark's spark-submit finds by itself (pyspark's guesses with python3).
    env["SPARK_HOME"] = str(SPARK_CLASS.parent.parent)
    began = time.monotonic()
    done = subprocess.run(
        words, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    return done, time.monotonic() - began


def _standalone_line(printed: str, master_url: str) -> list[str]:
    block = printed.split("\n# standalone", 1)[1].split("\n", 1)[1].split("\n\n", 1)[0]
    words = shlex.split(block.replace("\\\n", " "))
    assert words[0] == "spark-submit" and "spark://MASTER_HOST:7077" in words
    # This environment's spark-submit (pyspark's), as `spark-submit` on an activated venv's PATH.
    words[0] = str(Path(sys.executable).parent / "spark-submit")
    return [master_url if w == "spark://MASTER_HOST:7077" else w for w in words]


def test_a_packaged_pipeline_runs_on_a_standalone_cluster_like_locally(
    spark: SparkSession, cluster: Cluster, service: EnrichmentService, tmp_path: Path
) -> None:
    assert "node-python" in python_of_the_node(cluster)  # the nodes' python3 is the bare one
    site = install_executor_package(tmp_path / "package")
    raw = tmp_path / "raw"
    spark.createDataFrame([(e,) for e in events(EVENTS)], "value STRING").write.format(
        "delta"
    ).save(str(raw))
    local_dir, cluster_dir = tmp_path / "local", tmp_path / "on-cluster"
    local_dir.mkdir()
    cluster_dir.mkdir()
    local = write_pipeline(local_dir, raw, service.url)
    on_cluster = write_pipeline(cluster_dir, raw, service.url)

    ran = subprocess.run(
        [CLI, "run", str(local), "--mode", "batch"],
        env=with_path(site), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    packed = package(site, str(on_cluster), tmp_path / "env.tar.gz")
    assert packed.returncode == 0, packed.stderr
    served_before = service.rows

    submitted, _ = _submit(_standalone_line(packed.stdout, cluster.master_url), site, tmp_path)

    assert submitted.returncode == 0, submitted.stderr[-5000:] + cluster.log_tail()
    # Quiet by default (#22 item 5): no Ivy resolution report, no log4j INFO lines.
    printed = (submitted.stdout + submitted.stderr).splitlines()
    assert not [line for line in printed if IVY_REPORT.search(line)], printed
    assert not [line for line in printed if " INFO " in line], printed
    assert service.rows - served_before == EVENTS  # the workers called the service
    out = spark.read.format("delta").load(str(cluster_dir / "out"))
    assert out.count() == EVENTS
    assert_parity(out, spark.read.format("delta").load(str(local_dir / "out")))
    assert not (cluster_dir / "dead").exists() or (
        spark.read.format("delta").load(str(cluster_dir / "dead")).count() == 0
    )


def _without_the_archive(words: list[str], archive: Path) -> list[str]:
    """The README's line before ``package`` existed: no archive, the nodes' own python3."""
    dropped = {f"{archive}#environment", "spark.pyspark.python=./environment/bin/python"}
    kept: list[str] = []
    for word in words:
        if word in dropped:
            kept.pop()  # its option: --archives, --conf
        else:
            kept.append(word)
    assert len(kept) == len(words) - 4, words
    return kept


def test_without_the_archive_the_run_fails_at_once_naming_the_missing_module(
    spark: SparkSession, cluster: Cluster, service: EnrichmentService, tmp_path: Path
) -> None:
    """The report's failure: workers without the engine. With the cluster's default task
    retries (spark.task.maxFailures 4), the batch fails within a minute as an infrastructure
    error naming the module, instead of bisecting the batch for poison rows."""
    site = install_executor_package(tmp_path / "package")
    raw = tmp_path / "raw"
    spark.createDataFrame([(e,) for e in events(EVENTS)], "value STRING").write.format(
        "delta"
    ).save(str(raw))
    pipeline = write_pipeline(tmp_path, raw, service.url)
    printed = package(site, str(pipeline), tmp_path / "env.tar.gz")
    assert printed.returncode == 0, printed.stderr
    words = _without_the_archive(
        _standalone_line(printed.stdout, cluster.master_url), tmp_path / "env.tar.gz"
    )
    assert not any("maxFailures" in w for w in words)

    submitted, took = _submit(words, site, tmp_path)

    # spark-submit passes the Python driver's stderr on to its own stdout.
    output = submitted.stdout + submitted.stderr
    assert submitted.returncode == 1, output[-5000:] + cluster.log_tail()
    assert took < 60, f"took {took:.0f} s"
    assert "[INFRASTRUCTURE_ERROR]" in output, output[-5000:]
    assert "module 'spark_enrich' not found on the workers" in output
    assert "No module named 'spark_enrich'" in output
    # The workers were checked before anything was read: no bisection, no dead letter.
    assert "nothing was read or written" in output
    assert "executor_error" not in output
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "dead").exists()
