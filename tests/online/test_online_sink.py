"""The online store as a strategy of the sequence sink: every fold also writes the groups it
touched to a real redis-server, tagged with the Delta version, newest version wins.

The sequences pipeline (pipelines/sequences.yaml) follows an enriched table that grows in
thirds; the store is compared with the Delta table (online parity) after each micro-batch.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from support.online import Feed, assert_parity, online_of, sequences

from spark_enrich.errors import PipelineRunError
from spark_enrich.online.server import LocalRedisServer
from spark_enrich.online.store import connect, read_many


def test_the_store_equals_the_delta_table_after_each_micro_batch(
    spark: SparkSession, feed: Feed, redis_server: LocalRedisServer, online_prefix: str
) -> None:
    follow = sequences(spark, feed.base, redis_server.url, online_prefix)
    for third in range(3):
        feed.grow(third)
        assert follow.run_stream(available_now=True).batch_count == 1
        assert_parity(follow)
    # The served value is the Delta row: the same events, oldest first.
    row = follow.output().orderBy("user_id").first()
    assert row is not None
    (stored,) = read_many(connect(redis_server.url), [f"{online_prefix}{row['user_id']}"])
    assert stored is not None
    events = stored.parsed()["events"]
    assert [e["event_id"] for e in events] == [e["event_id"] for e in row["events"]]


def test_a_late_write_from_an_older_version_never_rolls_a_user_back(
    spark: SparkSession, feed: Feed, redis_server: LocalRedisServer, online_prefix: str
) -> None:
    follow = sequences(spark, feed.base, redis_server.url, online_prefix)
    feed.grow(0)
    follow.run_stream(available_now=True)
    plan = follow.plan
    online = online_of(follow)
    early, _ = online.snapshot(spark, plan.sink.table)
    feed.grow(1)
    feed.grow(2)
    # A batch run beside the stream folds everything again, at a newer Delta version.
    follow.run_batch()
    assert_parity(follow)
    # The stream's write of the early version arrives late (a replayed micro-batch).
    assert online.publish(spark, plan.sink.table, version=early) == 0
    assert_parity(follow)
    # Replaying the whole table at the latest version changes nothing either.
    online.publish(spark, plan.sink.table)
    assert_parity(follow)


def test_a_store_killed_mid_stream_loses_nothing_once_the_stream_resumes(
    spark: SparkSession, feed: Feed, tmp_path: Path, online_prefix: str
) -> None:
    server = LocalRedisServer.start(tmp_path / "store")
    try:
        connect(server.url).config_set("requirepass", "s3cret")
        url = f"redis://:s3cret@127.0.0.1:{server.port}/0"
        follow = sequences(spark, feed.base, url, online_prefix, retries=1)
        feed.grow(0)
        follow.run_stream(available_now=True)
        assert_parity(follow)
        server.kill()
        feed.grow(1)
        # The batch fails after its commit, and its error is the store's, not Spark's.
        with pytest.raises(PipelineRunError) as failed:
            follow.run_stream(available_now=True)
        message = str(failed.value)
        assert "micro-batch 1: [ONLINE_STORE_UNAVAILABLE]" in message
        assert f"redis://***@127.0.0.1:{server.port}/0 failed to write" in message
        assert f"127.0.0.1:{server.port}. Connection refused" in message
        assert "s3cret" not in message
        assert "Python worker" not in message
        server.restart()
        connect(server.url).config_set("requirepass", "s3cret")  # not kept across a restart
        # The failed batch is committed to Delta, not to the checkpoint: it runs again, Delta
        # skips its commit and the store catches up.
        assert follow.run_stream(available_now=True).batch_count == 1
        assert_parity(follow)
        feed.grow(2)
        follow.run_stream(available_now=True)
        assert_parity(follow)
    finally:
        server.stop()


def test_a_stream_and_a_batch_fold_of_the_same_users_at_once_leave_the_newest_in_the_store(
    spark: SparkSession, feed: Feed, redis_server: LocalRedisServer, online_prefix: str
) -> None:
    follow = sequences(spark, feed.base, redis_server.url, online_prefix)
    feed.grow(0)
    follow.run_stream(available_now=True)
    feed.grow(1)
    feed.grow(2)
    # A batch fold (a backfill) of the same users runs in another thread while the stream
    # folds the new events: both publish, each from the Delta version it read.
    beside = sequences(spark, feed.base, redis_server.url, online_prefix)
    errors: list[BaseException] = []

    def fold_beside() -> None:
        try:
            beside.run_batch()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=fold_beside)
    thread.start()
    follow.run_stream(available_now=True)
    thread.join(timeout=600)
    assert not thread.is_alive()
    assert errors == []
    assert_parity(follow)
