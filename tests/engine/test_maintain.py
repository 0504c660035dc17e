"""``spark-enrich maintain``: OPTIMIZE, retention by the date partition column, VACUUM (always)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from spark_enrich.cli.app import app

DEMO = str(Path(__file__).resolve().parents[2] / "pipelines" / "demo.yaml")
SEQUENCES = str(Path(__file__).resolve().parents[2] / "pipelines" / "sequences.yaml")
SCHEMA = "event_id STRING, event_date DATE"


def test_maintain_compacts_deletes_rows_past_retention_and_keeps_the_rest(
    spark: SparkSession, tmp_path: Path
) -> None:
    today = datetime.now(timezone.utc).date()

    def day(n: int) -> date:
        return today - timedelta(days=n)

    sink = str(tmp_path / "enriched")
    # Three appends: several small files per partition for OPTIMIZE to compact.
    for rows in (
        [("old", day(30)), ("edge-out", day(6))],
        [("edge-in", day(5)), ("new", day(0))],
        [("new-2", day(0))],
    ):
        frame = spark.createDataFrame(rows, SCHEMA)
        frame.write.format("delta").mode("append").partitionBy("event_date").save(sink)

    result = CliRunner().invoke(
        app,
        ["maintain", DEMO, "--set", "sink.retention_days=5"],
        env={"SPARK_ENRICH_DEMO_DIR": str(tmp_path)},
    )

    assert result.exit_code == 0, result.output
    expected = spark.createDataFrame(
        [("edge-in", day(5)), ("new", day(0)), ("new-2", day(0))], SCHEMA
    )
    actual = spark.read.format("delta").load(sink)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    operations = [r["operation"] for r in DeltaTable.forPath(spark, sink).history().collect()]
    assert "OPTIMIZE" in operations
    assert "DELETE" in operations
    assert f"deleted 2 rows with event_date before {day(5).isoformat()}" in result.output
    assert "dead_letters" in result.output  # no table yet: reported, not an error
    assert "VACUUM END" in operations


def test_maintain_vacuums_a_sink_without_retention(spark: SparkSession, tmp_path: Path) -> None:
    # A sequence sink has no retention and rewrites its users' rows every batch: its removed
    # files must still be vacuumed.
    sink = str(tmp_path / "user_sequences")
    for n in range(2):
        frame = spark.createDataFrame([(f"u{n}", n)], "user_id STRING, n INT")
        frame.write.format("delta").mode("append").save(sink)

    result = CliRunner().invoke(
        app, ["maintain", SEQUENCES], env={"SPARK_ENRICH_DEMO_DIR": str(tmp_path)}
    )

    assert result.exit_code == 0, result.output
    operations = [r["operation"] for r in DeltaTable.forPath(spark, sink).history().collect()]
    assert "OPTIMIZE" in operations and "VACUUM END" in operations, operations
    assert spark.read.format("delta").load(sink).count() == 2


def test_maintain_reports_config_problems_and_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["maintain", DEMO, "--set", "sink.retention_days=-1"],
        env={"SPARK_ENRICH_DEMO_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert "sink.retention_days" in result.output
