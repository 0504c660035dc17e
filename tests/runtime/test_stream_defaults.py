"""Issue #19 item 4: a stream's latency-minded settings. Its sink commits skip the optimized
writes a table property asks for (batch writes keep them), and its micro-batches run with their
own shuffle partitions (the cluster's cores unless configured), which the session that started
it does not keep. Checked by what Delta wrote and what the checkpoint holds, not by time."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from support.runtime import Layout, demo_pipeline, overrides

from spark_enrich.columns import SOURCE_TYPE
from spark_enrich.config import models
from spark_enrich.conform import ContractColumn, OutputContract
from spark_enrich.delta_commit import Txn
from spark_enrich.runtime.stream import start_stream
from spark_enrich.sink import AppendSink
from spark_enrich.tables import TableRef

PARTITIONS = "spark.sql.shuffle.partitions"


def _rows(spark: SparkSession, start: int) -> DataFrame:
    """90 rows in two Spark partitions, each holding rows of all three ``day`` values."""
    return spark.sql(
        f"SELECT CAST(id AS STRING) AS event_id, CAST(id % 3 AS STRING) AS day, 'x' AS _executor,"
        f" '1' AS _executor_version, CAST(NULL AS {SOURCE_TYPE}) AS _source,"
        f" current_timestamp() AS _ingested_at, 'run' AS _run_id"
        f" FROM range({start}, {start + 90}, 1, 2)"
    )


def _files_of_last_commit(spark: SparkSession, path: Path) -> int:
    metrics = DeltaTable.forPath(spark, str(path)).history(1).collect()[0]["operationMetrics"]
    return int(metrics["numFiles"])


def test_a_streams_commits_skip_the_optimized_writes_its_table_property_asks_for(
    spark: SparkSession, tmp_path: Path
) -> None:
    contract = OutputContract(
        (
            ContractColumn("event_id", "string", nullable=False),
            ContractColumn("day", "string", nullable=False),
        ),
        key=("event_id",),
    )
    sink = AppendSink(
        TableRef(path=str(tmp_path / "out")),
        contract,
        partition_by=("day",),
        properties={"delta.autoOptimize.optimizeWrite": "true"},
    )

    # A batch write follows the property: rows shuffled by partition, one file per day.
    assert sink.write(spark, _rows(spark, 0), txn=None, user_metadata="batch") == 90
    assert _files_of_last_commit(spark, tmp_path / "out") == 3
    # A stream's write does not shuffle: each of the two tasks writes its own file per day.
    streaming = sink.for_stream
    assert streaming.write(spark, _rows(spark, 90), txn=Txn("s", 0), user_metadata="mb") == 90
    assert _files_of_last_commit(spark, tmp_path / "out") == 6
    # runtime.stream.optimize_write: true keeps them for streams too.
    kept = AppendSink(
        sink.table, contract, ("day",), sink.properties, stream_optimize_write=True
    ).for_stream
    assert kept.write(spark, _rows(spark, 180), txn=Txn("s", 1), user_metadata="mb") == 90
    assert _files_of_last_commit(spark, tmp_path / "out") == 3


def _checkpoint_partitions(checkpoint: Path, timeout: float = 120) -> str:
    """The shuffle partitions of the stream's first micro-batch, as its offset log keeps them
    (line 2 of ``offsets/0``: the batch's metadata, holding the settings fixed at start)."""
    offsets = checkpoint / "offsets" / "0"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = offsets.read_text().splitlines() if offsets.exists() else []
        if len(lines) > 1:
            return str(json.loads(lines[1])["conf"][PARTITIONS])
        time.sleep(0.2)
    raise AssertionError(f"no first micro-batch planned in {checkpoint}")


def test_a_stream_runs_on_the_clusters_cores_and_leaves_the_sessions_setting_alone(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    layout = Layout(tmp_path)
    trigger = "{kind: processing_time, interval: 1s}"
    sets = overrides(layout, ["unused"], trigger=trigger)
    pipeline = demo_pipeline(spark, demo_data, "127.0.0.1:1", sets)
    cores = spark.sparkContext.defaultParallelism
    session_value = str(cores + 5)  # what the stream must not run with
    previous = str(spark.conf.get(PARTITIONS))
    spark.conf.set(PARTITIONS, session_value)
    try:
        run = start_stream(pipeline.plan, source="archive")  # a Delta source: no broker
        try:
            after_start = spark.conf.get(PARTITIONS)
            planned = _checkpoint_partitions(Path(layout.checkpoint))
        finally:
            run.query.stop()
    finally:
        spark.conf.set(PARTITIONS, previous)

    assert planned == str(cores)
    assert after_start == session_value


def test_configured_shuffle_partitions_are_the_streams(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    layout = Layout(tmp_path)
    sets = overrides(layout, ["unused"], trigger="{kind: processing_time, interval: 1s}")
    sets.append("runtime.stream.shuffle_partitions=3")
    pipeline = demo_pipeline(spark, demo_data, "127.0.0.1:1", sets)
    run = start_stream(pipeline.plan, source="archive")
    try:
        assert _checkpoint_partitions(Path(layout.checkpoint)) == "3"
    finally:
        run.query.stop()


def test_stream_defaults_are_the_documented_latency_minded_ones() -> None:
    stream = models.StreamRuntime(checkpoint="ck")
    assert isinstance(stream.trigger, models.ProcessingTimeTrigger)
    assert stream.trigger.interval == timedelta(seconds=1)
    assert stream.optimize_write is False
    assert stream.shuffle_partitions is None
    kafka = models.KafkaSource(name="k", kind="kafka", bootstrap_servers="h:9092", topics=["t"])
    assert kafka.max_offsets_per_trigger == 100_000
