"""The stream job as an operator runs it, `spark-enrich run --mode stream` in a subprocess:
SIGKILLed again and again in the middle of micro-batches while events arrive, it still ends
with every event in the sink exactly once; SIGTERM stops it cleanly with exit code 0."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import uuid
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from runtime_kit import (
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


@pytest.mark.slow
@pytest.mark.timeout(2400)  # seven JVM starts; minutes more on a loaded 2-core machine
def test_sigkill_mid_batch_five_times_while_producing_loses_and_duplicates_nothing(
    spark: SparkSession, demo_data: Path, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    topic = fresh_topic(kafka_broker)
    layout = Layout(tmp_path / "out")
    # Append mode: only the idempotent commits (txnAppId/txnVersion) stand between a replayed
    # micro-batch and duplicate rows; merge would hide duplicates by key.
    sets = overrides(layout, [topic], mode="append", trigger=PROCESSING_TIME, max_offsets=30)
    env = demo_env(demo_data, kafka_broker.bootstrap_servers)
    produced: list[str] = []
    stop_producing = threading.Event()
    chooser = random.Random(20260105)

    def producer() -> None:
        n = 0
        while not stop_producing.is_set() and n < MAX_EVENTS:
            batch = [event(n + i, prefix="k") for i in range(15)]
            produce(kafka_broker.bootstrap_servers, topic, batch)
            produced.extend(json.loads(p)["event_id"] for p in batch)
            n += 15
            stop_producing.wait(1.0)

    feeder = threading.Thread(target=producer, daemon=True)
    sets_args = cli_sets(sets)
    kills: list[tuple[int, int]] = []  # (last batch in Delta, batches committed) at a kill
    with reaped() as children:
        try:
            feeder.start()
            for attempt in range(5):
                before = planned_batches(layout.checkpoint)
                written = sink_batch_ids(layout.sink)
                child = StreamProcess(sets_args, env, tmp_path / f"run{attempt}.log")
                children.append(child)
                # Odd runs: right after a micro-batch's Delta commit, before its checkpoint
                # commit (the restart must replay it and Delta must skip the second commit).
                # Even runs: somewhere between reading Kafka and committing to Delta.
                after_commit = bool(attempt % 2)

                def progressed(
                    child: StreamProcess = child,
                    after_commit: bool = after_commit,
                    written: set[int] = written,
                    before: int = before,
                ) -> bool:
                    if child.process.poll() is not None:
                        return True
                    if after_commit:
                        return bool(sink_batch_ids(layout.sink) - written)
                    return planned_batches(layout.checkpoint) > before

                wait_for(
                    progressed,
                    timeout=600,
                    what=f"progress of run {attempt}",
                    interval=0.05,
                )
                assert child.process.poll() is None, child.output()
                if not attempt % 2:
                    stop_producing.wait(chooser.uniform(0.0, 3.0))
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

    assert len(kills) == 5
    # At least one kill fell between a batch's Delta commit and its checkpoint commit.
    assert any(in_delta >= committed for in_delta, committed in kills), kills
    keys = sink_keys(spark, layout)
    assert len(keys) == len(set(keys)), "duplicate keys in the sink"
    assert keys == sorted(produced)


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
