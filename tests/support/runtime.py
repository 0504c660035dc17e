"""Helpers of the runtime tests: the demo pipeline pointed at fresh topics and tmp folders,
hand-made events that every demo executor keeps, a Kafka producer, and `spark-enrich run`
subprocesses that are always reaped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from spark_enrich.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[2]
DEMO_YAML = REPO / "pipelines" / "demo.yaml"
CLI = str(Path(sys.executable).with_name("spark-enrich"))
HUMAN_AGENT = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0"


@dataclass(frozen=True)
class Layout:
    """Where one test's pipeline writes: sink, dead letters and checkpoint under ``base``."""

    base: Path

    @property
    def sink(self) -> Path:
        return self.base / "enriched"

    @property
    def dead_letters(self) -> Path:
        return self.base / "dead_letters"

    @property
    def checkpoint(self) -> Path:
        return self.base / "checkpoint"


def overrides(
    layout: Layout,
    topics: Sequence[str],
    *,
    mode: str = "merge",
    trigger: str = "{kind: available_now}",
    max_offsets: int | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """``--set`` values that point the demo pipeline at ``topics`` and at ``layout``."""
    values = [
        f"sources.engagement.topics=[{', '.join(topics)}]",
        f"sink.path={layout.sink}",
        f"sink.mode={mode}",
        f"dead_letters.path={layout.dead_letters}",
        f"runtime.stream.checkpoint={layout.checkpoint}",
        f"runtime.stream.trigger={trigger}",
        "observability.metrics={kind: none}",
    ]
    if max_offsets is not None:
        values.append(f"sources.engagement.max_offsets_per_trigger={max_offsets}")
    return [*values, *extra]


def demo_env(data_dir: Path, bootstrap: str) -> dict[str, str]:
    """Environment of the demo YAML: its tables under ``data_dir``, Kafka at ``bootstrap``."""
    return {"SPARK_ENRICH_DEMO_DIR": str(data_dir), "KAFKA_BOOTSTRAP": bootstrap}


def demo_pipeline(
    spark: SparkSession, data_dir: Path, bootstrap: str, sets: Sequence[str]
) -> Pipeline:
    """The demo pipeline on the test session with ``sets`` applied."""
    return Pipeline.from_yaml(
        DEMO_YAML, overrides=list(sets), env=demo_env(data_dir, bootstrap), spark=spark
    )


def visible(df: DataFrame) -> DataFrame:
    """Every column that must not differ between runs (engine metadata starts with ``_``)."""
    return df.select(*sorted(c for c in df.columns if not c.startswith("_")))


def event(i: int, day: date = date(2026, 1, 3), prefix: str = "e") -> str:
    """A human ``pin_click`` the engagement executor keeps; its id is ``{prefix}{i:06d}``."""
    moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(seconds=i)
    return json.dumps(
        {
            "event_id": f"{prefix}{i:06d}",
            "event_type": "pin_click",
            "user_id": f"u{i % 10:07d}",
            "event_time": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "pin_id": f"p{i % 20:08d}",
            "surface": "home_feed",
            "dwell_ms": 1000 + i,
            "position": i % 40,
            "user_agent": HUMAN_AGENT,
        }
    )


def produce(
    bootstrap: str,
    topic: str,
    payloads: Iterable[str],
    *,
    timestamps: Iterable[int] | None = None,
) -> int:
    """Produce ``payloads`` to ``topic`` (optionally with record timestamps in ms), all acked."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    errors: list[str] = []

    def delivered(error: object, message: object) -> None:
        if error is not None:
            errors.append(str(error))

    stamps = iter(timestamps) if timestamps is not None else None
    count = 0
    for payload in payloads:
        kwargs: dict[str, Any] = {} if stamps is None else {"timestamp": next(stamps)}
        producer.produce(topic, value=payload.encode(), on_delivery=delivered, **kwargs)
        producer.poll(0)
        count += 1
    remaining = producer.flush(60)
    assert not errors and not remaining, f"undelivered: {remaining}, errors {errors[:3]}"
    return count


def wait_for(
    condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.25
) -> None:
    """Poll until ``condition()`` holds; fail the test naming ``what`` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(interval)


def committed_batches(checkpoint: Path) -> int:
    """Micro-batches the stream has committed (files in the checkpoint's ``commits``)."""
    folder = checkpoint / "commits"
    return len([p for p in folder.iterdir() if p.name.isdigit()]) if folder.is_dir() else 0


def planned_batches(checkpoint: Path) -> int:
    """Micro-batches the stream has started (files in the checkpoint's ``offsets``)."""
    folder = checkpoint / "offsets"
    return len([p for p in folder.iterdir() if p.name.isdigit()]) if folder.is_dir() else 0


def sink_batch_ids(table: Path) -> set[int]:
    """Micro-batch ids recorded in the commit metadata of a Delta table's log."""
    ids: set[int] = set()
    log = table / "_delta_log"
    for commit in sorted(log.glob("*.json")) if log.is_dir() else []:
        for line in commit.read_text().splitlines():
            info = json.loads(line).get("commitInfo")
            if info and info.get("userMetadata"):
                batch_id = json.loads(info["userMetadata"]).get("batch_id")
                if batch_id is not None:
                    ids.add(int(batch_id))
    return ids


class StreamProcess:
    """``spark-enrich run --mode stream`` as a child in its own process group."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        full_env = {**os.environ, **env, "SPARK_ENRICH_DRIVER_MEMORY": "1g"}
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [CLI, "run", str(DEMO_YAML), "--mode", "stream", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=full_env,
                cwd=REPO,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group (Python driver and its JVM) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(60)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def reaped() -> Iterator[list[StreamProcess]]:
    """A list to register children in; every one is SIGKILLed (whole group) on the way out."""
    children: list[StreamProcess] = []
    try:
        yield children
    finally:
        for child in children:
            if child.process.poll() is None:
                child.kill()
            # The JVM may outlive a Python parent killed alone (SIGTERM tests): kill the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
