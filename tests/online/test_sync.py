"""``online sync``: the store (re)loaded from the Delta sequence table on a real redis-server —
a store that lost its data, a sync killed half-way and continued, a recreated table."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from support.online import REPO, Feed, assert_parity, online_of, sequences
from typer.testing import CliRunner

import spark_enrich.cli  # noqa: F401
from spark_enrich.cli.app import app
from spark_enrich.crashpoints import PAUSE_ENV
from spark_enrich.online.parity import check_online
from spark_enrich.online.server import LocalRedisServer
from spark_enrich.online.store import connect, encode, read_many
from spark_enrich.online.sync import DONE, LOADING, marker_key, read_state, sync_store, wipe


def loaded_table(spark: SparkSession, feed: Feed, url: str, prefix: str) -> int:
    """Fold the whole feed once (the store under ``prefix`` follows); return the groups."""
    for third in range(3):
        feed.grow(third)
    pipeline = sequences(spark, feed.base, url, prefix)
    pipeline.run_batch()
    return pipeline.output().count()


def test_a_store_that_lost_its_data_is_loaded_again_with_progress(
    spark: SparkSession, feed: Feed, redis_server: LocalRedisServer, online_prefix: str
) -> None:
    groups = loaded_table(spark, feed, redis_server.url, online_prefix)
    pipeline = sequences(spark, feed.base, redis_server.url, online_prefix)
    online, table = online_of(pipeline), pipeline.plan.sink.table
    client = connect(redis_server.url)
    assert wipe(client, online_prefix) == groups  # the disaster
    assert check_online(spark, online, table).missing == groups

    seen: list[tuple[int, int]] = []
    report = sync_store(spark, online, table, buckets=5, on_progress=lambda *p: seen.append(p))
    assert (report.rows, report.buckets, report.resumed, report.written) == (groups, 5, 0, groups)
    assert report.version == table.version(spark)
    assert_parity(pipeline)
    assert seen[0] == (0, groups)
    assert seen[-1] == (groups, groups)
    state = read_state(client, marker_key(online_prefix))
    assert state is not None and state.state == DONE and sorted(state.done) == list(range(5))

    # A finished sync run again loads the table anew; the same version rewrites the same values.
    again = sync_store(spark, online, table, buckets=2)
    assert (again.resumed, again.written) == (0, groups)
    assert_parity(pipeline)


def test_a_sync_killed_half_way_continues_where_it_stopped(
    spark: SparkSession,
    feed: Feed,
    redis_server: LocalRedisServer,
    online_prefix: str,
    tmp_path: Path,
) -> None:
    groups = loaded_table(spark, feed, redis_server.url, online_prefix)
    fresh = f"{online_prefix}fresh:"  # a store that never held these groups
    held = tmp_path / "held"
    env = {
        **os.environ,
        "SPARK_ENRICH_DEMO_DIR": str(feed.base),
        PAUSE_ENV: f"online-sync-bucket-loaded:{held}",
    }
    args = [
        str(Path(sys.executable).with_name("spark-enrich")), "online", "sync",
        str(REPO / "pipelines" / "sequences.yaml"), "--buckets", "8", "--no-progress",
        "--set", "observability.metrics.kind=none", "--set", "sink.sequence.length=4",
        "--set", f"sink.online.url={redis_server.url}",
        "--set", f"sink.online.key_prefix='{fresh}'",
    ]  # fmt: skip
    process = subprocess.Popen(
        args, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 240
        while not held.exists():
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the sync never loaded a bucket"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the driver, its JVM and its Python workers
        process.wait(timeout=30)

    client = connect(redis_server.url)
    cut = read_state(client, marker_key(fresh))
    assert cut is not None and cut.state == LOADING
    assert 1 <= len(cut.done) < 8
    pipeline = sequences(spark, feed.base, redis_server.url, fresh)
    online, table = online_of(pipeline), pipeline.plan.sink.table
    report = sync_store(spark, online, table)
    # The same version and buckets as the cut run; only the buckets it had not loaded.
    assert (report.version, report.buckets, report.resumed) == (cut.version, 8, len(cut.done))
    assert report.written == groups - cut.loaded
    assert_parity(pipeline)


def test_a_recreated_table_wipes_the_prefix_before_loading(
    spark: SparkSession, feed: Feed, redis_server: LocalRedisServer, online_prefix: str
) -> None:
    loaded_table(spark, feed, redis_server.url, online_prefix)
    pipeline = sequences(spark, feed.base, redis_server.url, online_prefix)
    sync_store(spark, online_of(pipeline), pipeline.plan.sink.table)
    # The table is dropped and folded again from a third of the events: its id changes and its
    # versions start again at 0, below those the store holds.
    shutil.rmtree(feed.base / "enriched")
    shutil.rmtree(feed.base / "user_sequences")
    feed.grow(0)
    again = sequences(spark, feed.base, redis_server.url, f"x{online_prefix}")
    again.run_batch()
    client = connect(redis_server.url)
    ghost = f"{online_prefix}no-such-user"
    client.set(ghost, encode(10**9, '{"updated_at": null, "events": []}'))

    recreated = sequences(spark, feed.base, redis_server.url, online_prefix)
    report = sync_store(spark, online_of(recreated), recreated.plan.sink.table)
    assert report.wiped > report.rows  # the old table had more groups, and the ghost
    assert read_many(client, [ghost]) == [None]
    assert_parity(recreated)


def test_sync_of_a_pipeline_without_an_online_store_exits_2() -> None:
    result = CliRunner().invoke(app, ["online", "sync", "pipelines/demo.yaml"])
    assert result.exit_code == 2
    assert "no sink.online" in result.output


@pytest.fixture(autouse=True)
def _no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PAUSE_ENV, raising=False)
