"""The Spark session factory: Delta and Kafka ready, reuse of running sessions, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from spark_enrich.env import check_java, parse_java_major
from spark_enrich.errors import EnvironmentProblem
from spark_enrich.session import DELTA_EXTENSION, delta_package, get_spark, kafka_package


def test_delta_round_trip_returns_what_was_written(spark: SparkSession, tmp_path: Path) -> None:
    rows = [(1, "a", 1.5), (2, "b", None), (3, None, -2.0)]
    written = spark.createDataFrame(rows, "id INT, name STRING, score DOUBLE")
    written.write.format("delta").save(str(tmp_path / "t"))
    read = spark.read.format("delta").load(str(tmp_path / "t"))
    assert_df_equality(read, written, ignore_row_order=True)
    history = spark.sql(f"DESCRIBE HISTORY delta.`{tmp_path / 't'}`").select("operation")
    assert [r.operation for r in history.collect()] == ["WRITE"]


def test_session_is_configured_for_delta_and_kafka(spark: SparkSession) -> None:
    assert DELTA_EXTENSION in (spark.conf.get("spark.sql.extensions", "") or "")
    packages = spark.sparkContext.getConf().get("spark.jars.packages", "")
    assert kafka_package() in packages and delta_package() in packages
    import pyspark

    assert kafka_package().endswith(":" + pyspark.__version__)


def test_running_session_is_reused_without_changing_its_settings(spark: SparkSession) -> None:
    before = spark.conf.get("spark.sql.shuffle.partitions")
    again = get_spark(conf={"spark.sql.shuffle.partitions": "99"})
    assert again is spark
    assert spark.conf.get("spark.sql.shuffle.partitions") == before


@pytest.mark.parametrize(
    ("version", "major"), [("17.0.15", 17), ("21", 21), ("1.8.0_392", 8), ("11.0.2+9", 11)]
)
def test_java_versions_are_parsed(version: str, major: int) -> None:
    assert parse_java_major(version) == major


def test_missing_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EnvironmentProblem) as info:
        check_java()
    assert info.value.error_class == "JAVA_NOT_FOUND"
    assert "Java 17" in info.value.message


def test_old_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A stand-in JDK folder whose java reports version 11, the way an old JDK would.
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.21\" 2023-10-17' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(EnvironmentProblem) as info:
        check_java()
    assert info.value.error_class == "JAVA_TOO_OLD"
    assert info.value.message_parameters["found"] == "11.0.21"


def test_java_home_without_java_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(EnvironmentProblem) as info:
        check_java()
    assert info.value.error_class == "JAVA_NOT_FOUND"
    assert str(tmp_path) in info.value.message


def test_unresolvable_jar_fails_with_a_message_that_names_it(tmp_path: Path) -> None:
    # A fresh process: the test session's JVM is already running and would be reused.
    code = (
        "from spark_enrich.session import get_spark\n"
        "from spark_enrich.errors import EnvironmentProblem\n"
        "try:\n"
        "    get_spark(extra_packages=['org.example.missing:no-such-jar:0.0.1'])\n"
        "except EnvironmentProblem as e:\n"
        "    print('ERROR_CLASS', e.error_class); print(e.message); raise SystemExit(7)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYSPARK_GATEWAY_PORT"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
        cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 7, result.stderr[-3000:]
    assert "ERROR_CLASS SPARK_START_FAILED" in result.stdout
    assert "org.example.missing:no-such-jar:0.0.1" in result.stdout
    assert "Maven Central" in result.stdout
    # The launcher's report is held back on a normal start, but shown when the start failed.
    assert "unresolved dependency" in result.stderr


def test_python_workers_run_this_interpreter(spark: SparkSession) -> None:
    # Regression: workers used the first `python3` on PATH, which lacked pandas, so every
    # mapInPandas call (enrichment services) failed with ModuleNotFoundError.
    import pandas as pd

    def where(batches):  # type: ignore[no-untyped-def]
        import sys as worker_sys

        for _ in batches:
            yield pd.DataFrame({"exe": [worker_sys.executable]})

    found = spark.range(1).mapInPandas(where, "exe STRING").first()
    assert found is not None and found.exe == sys.executable


def test_local_sessions_skip_python_call_site_capture(spark: SparkSession) -> None:
    # On by default in Spark: every Column call then walks the stack and makes py4j calls,
    # seconds of plan building per micro-batch (docs/benchmarks.md).
    from pyspark.errors.utils import is_debugging_enabled

    assert spark.conf.get("spark.python.sql.dataFrameDebugging.enabled") == "false"
    assert not is_debugging_enabled()
