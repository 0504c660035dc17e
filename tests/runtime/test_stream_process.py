"""The stream job as an operator runs it, `spark-enrich run --mode stream` in a subprocess:
SIGKILLed at each crash point in turn (in the middle of a micro-batch, between a batch's
dead-letter and sink commits, between its sink and checkpoint commits) while events arrive and
a flaky enrichment service fails some calls, it still ends with every event in exactly one of
sink, dead letters, filtered, unrouted; SIGTERM stops it cleanly with exit code 0.

Each kill costs a JVM start, so the kill test runs one kill per crash point, with the service
(a run without it exercises the same commits with fewer fates: the suite's time is better spent
elsewhere)."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from support.runtime import (
    Layout,
    StreamProcess,
    committed_batches,
    demo_env,
    event,
    overrides,
    planned_batches,
    produce,
    reaped,
    sink_batch_ids,
    wait_for,
)
from support.service import (
    FILTERED,
    KEPT,
    MISSING_USER,
    UNROUTED,
    assert_each_in_one_place,
    executor_env,
    fails_first,
    fate,
    flaky_service,
    mixed_event,
    places,
    service_sets,
)

from spark_enrich.crashpoints import PAUSE_ENV
from spark_enrich.testing.http_service import EnrichmentService
from spark_enrich.testing.kafka import LocalKafkaBroker

pytestmark = pytest.mark.kafka

PROCESSING_TIME = "{kind: processing_time, interval: 1s}"
MAX_EVENTS = 900  # produced while the kills go on (15 a second), at most
DRAIN = "sources.engagement.max_offsets_per_trigger=100000"  # not part of the checkpoint


def cli_sets(values: list[str]) -> list[str]:
    return [arg for value in values for arg in ("--set", value)]


def sink_keys(spark: SparkSession, layout: Layout) -> list[str]:
    rows = spark.read.format("delta").load(str(layout.sink)).select("event_id").collect()
    return sorted(r["event_id"] for r in rows)


def fresh_topic(broker: LocalKafkaBroker) -> str:
    name = f"live-{uuid.uuid4().hex[:8]}"
    broker.create_topic(name, partitions=2)
    return name


@pytest.fixture
def service() -> Iterator[EnrichmentService]:
    """The flaky service ``engagement_checked`` calls (some calls fail their first time)."""
    with flaky_service() as running:
        yield running


def pipeline_args(
    layout: Layout, topic: str, service: EnrichmentService, **kwargs: Any
) -> list[str]:
    """The CLI's ``--set`` arguments: an append sink and ``engagement_checked`` on ``service``."""
    extra = service_sets(service.url)
    return cli_sets(overrides(layout, [topic], mode="append", extra=extra, **kwargs))


def pipeline_env(demo_data: Path, broker: LocalKafkaBroker, tmp_path: Path) -> dict[str, str]:
    """The demo's environment plus the site folder that makes ``engagement_checked`` importable."""
    return {**demo_env(demo_data, broker.bootstrap_servers), **executor_env(tmp_path / "site")}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # four JVM starts; minutes more on a loaded 2-core machine
def test_sigkill_at_each_crash_point_while_producing_leaves_each_event_in_exactly_one_place(
    spark: SparkSession,
    demo_data: Path,
    kafka_broker: LocalKafkaBroker,
    tmp_path: Path,
    service: EnrichmentService,
) -> None:
    topic = fresh_topic(kafka_broker)
    layout = Layout(tmp_path / "out")
    # Append mode: only the idempotent commits (txnAppId/txnVersion) stand between a replayed
    # micro-batch and duplicate rows; merge would hide duplicates by key.
    sets_args = pipeline_args(layout, topic, service, trigger=PROCESSING_TIME, max_offsets=30)
    env = pipeline_env(demo_data, kafka_broker, tmp_path)
    produced: list[str] = []
    stop_producing = threading.Event()
    chooser = random.Random(20260105)

    def producer() -> None:
        n = 0
        while not stop_producing.is_set() and n < MAX_EVENTS:
            # Kept, filtered, unrouted and dead-lettered events alike (see support.service.fate).
            batch = [mixed_event(n + i, prefix="k") for i in range(15)]
            produce(kafka_broker.bootstrap_servers, topic, batch)
            produced.extend(json.loads(p)["event_id"] for p in batch)
            n += 15
            stop_producing.wait(1.0)

    feeder = threading.Thread(target=producer, daemon=True)
    kills: list[tuple[int, int]] = []  # (last batch in Delta, batches committed) at a kill
    held: list[int] = []  # runs killed where the test hook held them
    with reaped() as children:
        try:
            feeder.start()
            for attempt in range(3):
                before = planned_batches(layout.checkpoint)
                # Run 0: somewhere between reading Kafka and committing to Delta.
                # Run 1: held by the test hook right after a micro-batch's sink commit, before
                # its checkpoint commit (the restart must replay it and Delta must skip the
                # second commit).
                # Run 2: held right after a micro-batch's dead-letter commit, before its sink
                # commit (the replay, whose service calls may now succeed, must replace those
                # dead letters).
                point = ("mid-batch", "after-sink", "after-dead-letters")[attempt]
                marker = tmp_path / f"held{attempt}"
                run_env = env if point == "mid-batch" else {**env, PAUSE_ENV: f"{point}:{marker}"}
                child = StreamProcess(sets_args, run_env, tmp_path / f"run{attempt}.log")
                children.append(child)

                def progressed(
                    child: StreamProcess = child,
                    point: str = point,
                    marker: Path = marker,
                    before: int = before,
                ) -> bool:
                    if child.process.poll() is not None:
                        return True
                    if point != "mid-batch":
                        return marker.exists()
                    return planned_batches(layout.checkpoint) > before

                wait_for(
                    progressed,
                    timeout=600,
                    what=f"progress of run {attempt}",
                    interval=0.05,
                )
                assert child.process.poll() is None, child.output()
                if point == "mid-batch":
                    stop_producing.wait(chooser.uniform(0.0, 3.0))
                else:
                    held.append(attempt)
                child.kill()
                kills.append(
                    (
                        max(sink_batch_ids(layout.sink), default=-1),
                        committed_batches(layout.checkpoint),
                    )
                )
        finally:
            stop_producing.set()
            feeder.join(60)
        drain = StreamProcess(
            [*sets_args, "--set", DRAIN, "--available-now"], env, tmp_path / "drain.log"
        )
        children.append(drain)
        assert drain.wait(900) == 0, drain.output()

    assert len(kills) == 3 and held == [1, 2]
    # The second kill fell between a batch's Delta commit and its checkpoint commit: the
    # batch Delta holds was not committed to the checkpoint yet.
    assert kills[1][0] >= kills[1][1], kills
    assert_each_in_one_place(spark, layout, produced, service=True)


@pytest.mark.timeout(1800)  # two JVM starts
def test_a_stream_killed_between_its_dead_letter_and_sink_commits_keeps_each_event_in_one_place(
    spark: SparkSession, demo_data: Path, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    topic = fresh_topic(kafka_broker)
    layout = Layout(tmp_path / "out")
    payloads = [mixed_event(i, prefix="d") for i in range(40)]
    produce(kafka_broker.bootstrap_servers, topic, payloads)
    produced = [json.loads(p)["event_id"] for p in payloads]
    kept = {e for e in produced if fate(int(e[-6:])) == KEPT}
    flaky = {e for e in kept if fails_first(e)}
    missing_user = {e for e in produced if fate(int(e[-6:])) == MISSING_USER}
    assert flaky and {fate(int(e[-6:])) for e in produced} == {
        KEPT,
        FILTERED,
        UNROUTED,
        MISSING_USER,
    }
    marker = tmp_path / "held"

    with flaky_service() as service, reaped() as children:
        args = pipeline_args(layout, topic, service)  # available-now: one micro-batch
        env = pipeline_env(demo_data, kafka_broker, tmp_path)
        held = StreamProcess(
            args, {**env, PAUSE_ENV: f"after-dead-letters:{marker}"}, tmp_path / "held.log"
        )
        children.append(held)
        wait_for(
            lambda: marker.exists() or held.process.poll() is not None,
            timeout=600,
            what="the dead-letter commit of the first micro-batch",
        )
        assert held.process.poll() is None, held.output()
        # The first attempt's outcome is committed in the dead letters, not yet in the sink.
        first = places(spark, layout)
        assert set(first.dead) == flaky | missing_user and first.sink == []
        held.kill()  # SIGKILL: the whole process group, driver and JVM

        restarted = StreamProcess(args, env, tmp_path / "restarted.log")
        children.append(restarted)
        assert restarted.wait(600) == 0, restarted.output()

    found = assert_each_in_one_place(spark, layout, produced, service=True)
    # The replayed batch called the service again, which answered this time: its events are
    # in the sink, and the dead letters of the first attempt that said otherwise are gone.
    assert set(found.sink) == kept
    assert set(found.dead) == missing_user


def test_sigterm_stops_after_the_current_micro_batch_exits_0_and_resumes(
    spark: SparkSession, demo_data: Path, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    topic = fresh_topic(kafka_broker)
    layout = Layout(tmp_path / "out")
    sets = cli_sets(
        overrides(layout, [topic], mode="append", trigger=PROCESSING_TIME, max_offsets=40)
    )
    env = demo_env(demo_data, kafka_broker.bootstrap_servers)
    payloads = [event(i, prefix="t") for i in range(200)]
    produce(kafka_broker.bootstrap_servers, topic, payloads)

    with reaped() as children:
        child = StreamProcess(sets, env, tmp_path / "run.log")
        children.append(child)
        wait_for(
            lambda: committed_batches(layout.checkpoint) >= 1 or child.process.poll() is not None,
            timeout=600,
            what="the first committed micro-batch",
        )
        os.kill(child.process.pid, signal.SIGTERM)  # the driver only, as a scheduler would
        code = child.wait(300)
        assert code == 0, child.output()
        assert "stopping after the current micro-batch" in child.output()
        # Whatever the stopped run wrote is whole: no duplicate, nothing that was not produced.
        keys = sink_keys(spark, layout)
        assert len(keys) == len(set(keys))
        assert set(keys) <= {json.loads(p)["event_id"] for p in payloads}
        # Resumed from the checkpoint: the rest once, nothing twice.
        resumed = StreamProcess(
            [*sets, "--set", DRAIN, "--available-now"], env, tmp_path / "resume.log"
        )
        children.append(resumed)
        assert resumed.wait(600) == 0, resumed.output()

    assert sink_keys(spark, layout) == sorted(json.loads(p)["event_id"] for p in payloads)
