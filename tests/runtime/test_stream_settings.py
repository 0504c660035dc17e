"""Runtime settings that are easy to get subtly wrong: the processing-time interval reaches
Spark exactly, and Delta's session-wide commit settings are never shared by two commits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from pyspark.sql import SparkSession
from runtime_kit import Layout, demo_pipeline, overrides

from spark_enrich.delta_commit import Txn, commit_settings
from spark_enrich.runtime.stream import start_stream

TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
TXN_VERSION = "spark.databricks.delta.write.txnVersion"


def test_processing_time_interval_reaches_spark_to_the_millisecond(
    spark: SparkSession, demo_data: Path, tmp_path: Path
) -> None:
    layout = Layout(tmp_path)
    trigger = "{kind: processing_time, interval: 1500ms}"
    pipeline = demo_pipeline(
        spark, demo_data, "127.0.0.1:1", overrides(layout, ["unused"], trigger=trigger)
    )

    run = start_stream(pipeline.plan, source="archive")  # a Delta source: no Kafka needed
    try:
        configured = run.query._jsq.streamingQuery().trigger().toString()
    finally:
        run.query.stop()

    assert "1500" in configured, configured  # was truncated to whole seconds ("1 seconds")


def test_commit_settings_of_concurrent_commits_do_not_mix(spark: SparkSession) -> None:
    inside_first = threading.Event()
    second_started = threading.Event()
    seen_by_first: list[tuple[str | None, str | None]] = []
    seen_by_second: list[tuple[str | None, str | None]] = []

    def first() -> None:
        with commit_settings(spark, txn=Txn("stream", 7), user_metadata="first"):
            inside_first.set()
            second_started.wait(30)
            time.sleep(0.5)  # give the second commit every chance to interfere
            seen_by_first.append(
                (spark.conf.get(TXN_APP_ID, None), spark.conf.get(TXN_VERSION, None))
            )

    def second() -> None:
        inside_first.wait(30)
        second_started.set()
        with commit_settings(spark, txn=None, user_metadata="second"):
            seen_by_second.append(
                (spark.conf.get(TXN_APP_ID, None), spark.conf.get(TXN_VERSION, None))
            )

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert seen_by_first == [("stream", "7")]
    # The backfill-like commit without a txn never carries the stream's txn.
    assert seen_by_second == [(None, None)]
    assert spark.conf.get(TXN_APP_ID, None) is None
