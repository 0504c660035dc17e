"""The online store as a strategy of the sequence sink: every fold also writes the groups it
touched to a real redis-server, tagged with the Delta version, newest version wins.

The sequences pipeline (pipelines/sequences.yaml) follows an enriched table that grows in
thirds; the store is compared with the Delta table (online parity) after each micro-batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_enrich import Pipeline
from spark_enrich.demo.generate import write_demo_data
from spark_enrich.online.parity import check_online
from spark_enrich.online.publish import OnlineSequences
from spark_enrich.online.server import LocalRedisServer
from spark_enrich.online.store import connect, read_many
from spark_enrich.sink import SequenceSink

REPO = Path(__file__).resolve().parents[2]
QUIET = ["observability.metrics.kind=none", "dead_letters.max_share=0.5"]


@dataclass
class Feed:
    """A folder whose ``enriched`` table grows by one third of the demo's enriched events."""

    base: Path
    thirds: list[DataFrame]

    def grow(self, third: int) -> None:
        self.thirds[third].write.format("delta").mode("append").save(str(self.base / "enriched"))


@pytest.fixture(scope="module")
def enriched(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> DataFrame:
    base = tmp_path_factory.mktemp("online-enriched")
    write_demo_data(spark, base, 300, seed=5)
    enrich = Pipeline.from_yaml(
        REPO / "pipelines" / "demo.yaml",
        env={"SPARK_ENRICH_DEMO_DIR": str(base)},
        overrides=QUIET,
        spark=spark,
    )
    enrich.run_batch()
    return enrich.output().localCheckpoint()


@pytest.fixture
def feed(enriched: DataFrame, tmp_path: Path) -> Feed:
    part = F.abs(F.hash("event_id")) % 3
    return Feed(tmp_path, [enriched.where(part == i) for i in range(3)])


def sequences(
    spark: SparkSession, base: Path, url: str, prefix: str, *, retries: int = 3
) -> Pipeline:
    return Pipeline.from_yaml(
        REPO / "pipelines" / "sequences.yaml",
        env={"SPARK_ENRICH_DEMO_DIR": str(base)},
        overrides=[
            *QUIET,
            "sink.sequence.length=4",
            f"sink.online.url={url}",
            f"sink.online.key_prefix='{prefix}'",
            f"sink.online.retries={retries}",
            "sink.online.batch_size=7",
        ],
        spark=spark,
    )


def online_of(pipeline: Pipeline) -> OnlineSequences:
    sink = pipeline.plan.sink
    assert isinstance(sink, SequenceSink)
    online = sink.online
    assert online is not None
    return online


def assert_parity(pipeline: Pipeline) -> int:
    plan = pipeline.plan
    report = check_online(plan.spark, online_of(pipeline), plan.sink.table)
    assert report.ok, report.summary()
    assert report.checked == pipeline.output().count()
    return report.checked


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
        follow = sequences(spark, feed.base, server.url, online_prefix, retries=1)
        feed.grow(0)
        follow.run_stream(available_now=True)
        assert_parity(follow)
        server.kill()
        feed.grow(1)
        # The batch fails (its cause, ONLINE_STORE_UNAVAILABLE, is in the log) after its commit.
        with pytest.raises(Exception, match="micro-batch 1"):
            follow.run_stream(available_now=True)
        server.restart()
        # The failed batch is committed to Delta, not to the checkpoint: it runs again, Delta
        # skips its commit and the store catches up.
        assert follow.run_stream(available_now=True).batch_count == 1
        assert_parity(follow)
        feed.grow(2)
        follow.run_stream(available_now=True)
        assert_parity(follow)
    finally:
        server.stop()
