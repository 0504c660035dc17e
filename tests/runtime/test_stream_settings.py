"""Runtime settings that are easy to get subtly wrong: the processing-time interval reaches
Spark exactly, and Delta's session-wide commit settings are never shared by two commits (nor
taken by a commit without settings)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from support.runtime import Layout, demo_pipeline, overrides

from spark_enrich import delta_commit
from spark_enrich.columns import SOURCE_TYPE
from spark_enrich.conform import ContractColumn, OutputContract
from spark_enrich.delta_commit import Txn, commit_settings
from spark_enrich.runtime.stream import start_stream
from spark_enrich.sink import AppendSink
from spark_enrich.tables import TableRef

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


class _WatchedLock:
    """The engine's commit lock, telling when a thread other than the holder waits for it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owner: int | None = None
        self.contended = threading.Event()

    def __enter__(self) -> None:
        if self._owner not in (None, threading.get_ident()):
            self.contended.set()
        self._lock.acquire()
        self._owner = threading.get_ident()

    def __exit__(self, *exc: object) -> None:
        self._owner = None
        self._lock.release()


def test_an_append_without_txn_waits_for_another_threads_commit_settings(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = _WatchedLock()
    monkeypatch.setattr(delta_commit, "_SESSION_COMMIT_LOCK", lock)
    contract = OutputContract((ContractColumn("event_id", "string", nullable=False),), key=())
    sink = AppendSink(TableRef(path=str(tmp_path / "out")), contract)
    rows = spark.sql(
        "SELECT 'e1' AS event_id, 'x' AS _executor, '1' AS _executor_version, "
        f"CAST(NULL AS {SOURCE_TYPE}) AS _source, current_timestamp() AS _ingested_at, "
        "'run' AS _run_id"
    )
    sink.ensure(spark)
    appended: list[int] = []
    # A notebook: a stream's commit holds its txn settings while a plain append (a batch run
    # into the same append sink) starts in another thread. The settings stay until that append
    # has either finished (it ran inside them) or is waiting for the lock.
    with commit_settings(spark, txn=Txn("stream", 5), user_metadata="stream batch 5"):
        other = threading.Thread(
            target=lambda: appended.append(sink.write(spark, rows, txn=None, user_metadata="b"))
        )
        other.start()
        while other.is_alive() and not lock.contended.wait(0.1):
            pass
    other.join(120)
    assert appended == [1]
    # The plain append did not record the stream's transaction: its batch 5 still commits.
    added = sink.write(spark, rows, txn=Txn("stream", 5), user_metadata="stream batch 5")
    assert added == 1
