"""A batch's writes use tasks in proportion to its rows, not to its input's partitions: a
micro-batch of a few events spread over several input partitions and two executors adds one
file per table partition to the sink and to the dead letters, not one per task (#19: every
write task is a fixed cost of a small micro-batch, and every file a small file to compact)."""

from __future__ import annotations

from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from support.engine import build_config, config_dict, envelope, raw, registry_with

from spark_enrich import Pipeline
from spark_enrich.delta_commit import Txn
from spark_enrich.process import ROWS_PER_WRITE_TASK, process_batch, write_tasks


def _last_commit(spark: SparkSession, path: Path) -> dict[str, str]:
    row = DeltaTable.forPath(spark, str(path)).history(1).collect()[0]
    return {"operation": row["operation"], **row["operationMetrics"]}


def test_write_tasks_grow_with_rows_only() -> None:
    assert [write_tasks(n) for n in (0, 1, ROWS_PER_WRITE_TASK)] == [1, 1, 1]
    assert write_tasks(ROWS_PER_WRITE_TASK + 1) == 2
    assert write_tasks(10 * ROWS_PER_WRITE_TASK) == 10


def test_a_small_batch_adds_one_file_per_table_partition(
    spark: SparkSession, tmp_path: Path
) -> None:
    registry = registry_with()
    data = config_dict(
        tmp_path, ["clicks", "views"], mode="append", sink={"partition_by": ["event_date"]}
    )
    plan = Pipeline(build_config(data, registry), spark=spark, registry=registry).plan
    days = ("2026-01-05T10:00:00Z", "2026-01-06T10:00:00Z")
    payloads = [
        raw(f"e{i}", "click" if i % 2 else "view", event_time=days[i % 4 < 2]) for i in range(16)
    ] + ["not json"] * 4
    # Eight input partitions, each holding events of both days and both executors.
    events = envelope(spark, payloads).repartition(8)
    assert events.rdd.getNumPartitions() == 8

    report = process_batch(plan, events, batch_id=0, txn=Txn("write-tasks", 0))

    assert (report.output, report.dead_lettered) == (16, 4)
    sink = _last_commit(spark, tmp_path / "out")
    assert (sink["operation"], sink["numOutputRows"], sink["numFiles"]) == ("WRITE", "16", "2")
    assert plan.sink.read(spark).select("event_date").distinct().count() == 2
    dead = _last_commit(spark, tmp_path / "dead")
    files_added = dead.get("numTargetFilesAdded", dead.get("numFiles"))
    assert files_added == "1", dead
