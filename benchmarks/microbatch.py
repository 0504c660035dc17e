"""``python -m benchmarks microbatch`` (issue #19): the fixed cost of one small micro-batch.

The demo pipeline's stream and a plain Kafka -> Delta passthrough stream run side by side in
one session, each on its own topic, both with a short processing-time trigger and idle between
rounds. Each round produces the same ``--events`` records (live events of today) to one topic,
waits for its micro-batch, then to the other (the order alternates every round). A micro-batch's
cost is Spark's own ``durationMs.triggerExecution`` of the stream's progress; the ratio of the
medians is printed (goal <= 2).

With ``--profile`` the session writes Spark's event log and the engine's steps are timed on the
driver (wall clock around the engine's calls); the jobs of the event log are then attributed to
the step they ran in, and the passthrough's jobs are listed by call site — where a micro-batch
of the engine spends what the passthrough does not.
"""

from __future__ import annotations

import functools
import json
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common import demo_pipeline, fresh, print_table, session

if TYPE_CHECKING:
    from confluent_kafka import Producer
    from pyspark.sql.streaming.query import StreamingQuery


@dataclass
class StepClock:
    """Wall time of named engine steps on the driver; nested steps are named by their path."""

    spans: list[tuple[str, float, float]] = field(default_factory=list)
    _stack: threading.local = field(default_factory=threading.local)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        stack: list[str] = getattr(self._stack, "names", [])
        self._stack.names = stack
        stack.append(name)
        start = time.time()
        try:
            yield
        finally:
            self.spans.append((" > ".join(stack), start, time.time()))
            stack.pop()


# (module, attribute path, step name): the engine's calls timed when profiling. A name that a
# later version moved is skipped (printed), so the profile runs on every commit it is given.
_STEPS = (
    ("spark_enrich.process", "process_batch", "process_batch"),
    ("spark_enrich.process", "_decode", "decode+materialise"),
    ("spark_enrich.process", "run_executors", "executors"),
    ("spark_enrich.process", "_dead_letters", "dead-letter plans"),
    ("spark_enrich.process", "_engine_metadata", "engine metadata"),
    ("spark_enrich.process", "_write", "write"),
    ("spark_enrich.deadletters", "DeadLetterTable.written_by", "dead letters: retry look-up"),
    ("spark_enrich.deadletters", "DeadLetterTable.write", "dead-letter write"),
    ("spark_enrich.sink.base", "DeltaSink.committed", "sink: committed look-up"),
    ("spark_enrich.sink.base", "DeltaSink.write", "sink write"),
    ("spark_enrich.sink.base", "DeltaSink._partition_scope", "merge partition scope"),
    ("spark_enrich.metrics", "LogMetrics.emit", "metrics"),
    ("spark_enrich.metrics", "DeltaMetrics.emit", "metrics"),
)


def instrument(clock: StepClock) -> None:
    """Wrap the engine's steps in ``clock`` (benchmark processes only)."""
    import importlib

    for module_name, path, name in _STEPS:
        owner: Any = importlib.import_module(module_name)
        *parents, attr = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent, None)
        original = getattr(owner, attr, None) if owner is not None else None
        if original is None:
            print(f"  (profile: {module_name}.{path} not found, not timed)")
            continue

        def timed_call(*args: Any, _f: Any = original, _n: str = name, **kwargs: Any) -> Any:
            with clock.step(_n):
                return _f(*args, **kwargs)

        setattr(owner, attr, functools.wraps(original)(timed_call))


@dataclass
class Job:
    """One Spark job of the event log."""

    job_id: int
    start: float
    end: float
    call_site: str
    batch: str | None
    query: str | None


def read_jobs(event_log_dir: Path) -> list[Job]:
    """The jobs of every event log under ``event_log_dir`` (finished jobs only)."""
    starts: dict[int, dict[str, Any]] = {}
    jobs = []
    # Spark 4 writes rolling logs: a folder per application holding ``events_N_*`` files.
    for path in sorted(p for p in event_log_dir.rglob("*") if p.is_file()):
        for line in path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # the last line of a log still being written
            kind = event.get("Event") if isinstance(event, dict) else None
            if kind == "SparkListenerJobStart":
                starts[event["Job ID"]] = event
            elif kind == "SparkListenerJobEnd" and event["Job ID"] in starts:
                start = starts[event["Job ID"]]
                props = start.get("Properties") or {}
                jobs.append(
                    Job(
                        event["Job ID"],
                        start["Submission Time"] / 1000,
                        event["Completion Time"] / 1000,
                        str(props.get("callSite.short", "?")),
                        props.get("streaming.sql.batchId"),
                        props.get("sql.streaming.queryId"),
                    )
                )
    return jobs


@dataclass
class Side:
    """One of the two streams: its query, its topic and the micro-batches measured."""

    label: str
    topic: str
    query: Callable[[], StreamingQuery]
    durations: list[float] = field(default_factory=list)
    windows: list[tuple[float, float, str]] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    split: int = 0
    last_batch: int = -1

    def run_round(self, producer: Producer, rows: list[tuple[bytes, bytes]], keep: bool) -> None:
        """Produce ``rows`` and wait until the stream committed them; keep the micro-batch's
        cost when they all arrived in one micro-batch."""
        begin = time.time()
        for key, value in rows:
            producer.produce(self.topic, key=key, value=value)
        producer.flush(30)
        seen = 0
        progresses = []
        deadline = time.monotonic() + 300
        while seen < len(rows):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.label}: the micro-batch did not finish in 300 s")
            query = self.query()
            if query.exception() is not None:
                raise RuntimeError(f"{self.label} failed: {query.exception()}")
            for progress in query.recentProgress:
                if progress["batchId"] > self.last_batch and progress["numInputRows"] > 0:
                    self.last_batch = progress["batchId"]
                    seen += progress["numInputRows"]
                    progresses.append(progress)
            time.sleep(0.05)
        if not keep:
            return
        if len(progresses) != 1:
            self.split += 1
            return
        progress = progresses[0]
        self.durations.append(progress["durationMs"]["triggerExecution"] / 1000)
        self.windows.append((begin, time.time(), str(progress["batchId"])))
        for phase, millis in progress["durationMs"].items():
            self.phases[phase].append(millis / 1000)


def _records(spark: Any, n: int) -> list[list[tuple[bytes, bytes]]]:
    """``n`` live demo events per round, the same for both streams (fresh ids per round)."""
    from spark_enrich.demo.generate import generate_raw_events

    rows = generate_raw_events(
        spark,
        n * 200,
        seed=19,
        start=datetime.now(timezone.utc).date(),
        days=1,
        bad_share=0,
        duplicate_share=0,
    ).collect()
    pairs = [(str(r["key"]).encode(), str(r["value"]).encode()) for r in rows]
    return [pairs[i : i + n] for i in range(0, len(pairs) - n + 1, n)]


def main(
    events: int, rounds: int, warm_up: int, workdir: Path, profile: bool, sets: Sequence[str] = ()
) -> None:
    """Measure ``rounds`` micro-batches of ``events`` events on each side after ``warm_up``;
    the engine is the demo pipeline with ``sets`` (``--set`` overrides) applied."""
    from confluent_kafka import Producer

    from spark_enrich.demo.generate import write_demo_data
    from spark_enrich.runtime.stream import await_stream, start_stream
    from spark_enrich.testing.kafka import LocalKafkaBroker

    events_dir = workdir / "event-log"
    fresh(workdir)
    events_dir.mkdir(parents=True)
    conf = (
        {
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": events_dir.as_uri(),
            "spark.eventLog.compress": "false",
        }
        if profile
        else {}
    )
    spark = session(conf)
    clock = StepClock()
    if profile:
        instrument(clock)
    data = workdir / "data"
    write_demo_data(spark, data, 1000)
    batches = _records(spark, events)
    with LocalKafkaBroker.start(workdir / "kafka", heap="1g") as broker:
        bootstrap = broker.bootstrap_servers
        for topic in ("mb-engine", "mb-pass"):
            broker.create_topic(topic, 2)
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
        pipeline = demo_pipeline(
            spark,
            data,
            overrides=[
                "runtime.stream.trigger.kind=processing_time",
                "runtime.stream.trigger.interval=200ms",
                "sources[0].topics=[mb-engine]",
                "sources[0].starting_offsets=earliest",
                *sets,
            ],
            KAFKA_BOOTSTRAP=bootstrap,
        )
        run = start_stream(pipeline.plan)
        passthrough = (
            spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("subscribe", "mb-pass")
            .option("startingOffsets", "earliest")
            .load()
            .writeStream.format("delta")
            .option("checkpointLocation", str(workdir / "pass-cp"))
            .trigger(processingTime="200 milliseconds")
            .start(str(workdir / "pass"))
        )
        sides = [
            Side("engine", "mb-engine", lambda: run.query),
            Side("passthrough", "mb-pass", lambda: passthrough),
        ]
        try:
            for i in range(warm_up + rounds):
                for side in sides if i % 2 == 0 else sides[::-1]:
                    side.run_round(producer, batches[i], keep=i >= warm_up)
        finally:
            passthrough.stop()
            run.stop_requested.set()
            await_stream(run, handle_signals=False)
    engine, reference = sides
    if sets:
        print(f"engine: the demo pipeline with {'; '.join(sets)}")
    _print(events, engine, reference)
    if profile:
        _print_profile(clock, read_jobs(events_dir), engine, reference, passthrough.id)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _print(events: int, engine: Side, reference: Side) -> None:
    e, p = _median(engine.durations), _median(reference.durations)
    print_table(
        f"one micro-batch of {events} events (medians of {len(engine.durations)} and "
        f"{len(reference.durations)}; split rounds left out: {engine.split}, {reference.split})",
        [
            ("Kafka -> Delta passthrough", p, "s per micro-batch"),
            ("spark-enrich demo pipeline", e, "s per micro-batch"),
            ("ratio engine / passthrough", e / p, "goal <= 2"),
        ],
    )
    print(f"  engine micro-batches, s: {', '.join(f'{d:.2f}' for d in engine.durations)}")
    print(f"  passthrough micro-batches, s: {', '.join(f'{d:.2f}' for d in reference.durations)}")
    for side in (engine, reference):
        phases = ", ".join(f"{k} {_median(v):.2f}" for k, v in sorted(side.phases.items()))
        print(f"  {side.label} durationMs medians, s: {phases}")


def _print_profile(
    clock: StepClock, jobs: list[Job], engine: Side, reference: Side, pass_id: Any
) -> None:
    """Per step: median wall time per micro-batch, Spark jobs and their time (event log)."""
    rounds = len(engine.windows)
    wall: dict[str, list[float]] = defaultdict(list)
    job_count: dict[str, int] = defaultdict(int)
    job_time: dict[str, float] = defaultdict(float)
    for begin, end, _ in engine.windows:
        spans = [s for s in clock.spans if begin <= s[1] and s[2] <= end]
        per_round: dict[str, float] = defaultdict(float)
        for name, start, stop in spans:
            per_round[name] += stop - start
        for name, seconds in per_round.items():
            wall[name].append(seconds)
        for job in jobs:
            if not begin <= job.start <= end or job.query == str(pass_id):
                continue
            # The innermost step the job started in (the deepest path holding its start).
            inside = [s for s in spans if s[1] <= job.start <= s[2]]
            step = max(inside, key=lambda s: s[0].count(">"))[0] if inside else "(stream: no step)"
            job_count[step] += 1
            job_time[step] += job.end - job.start
    rows = []
    for name in sorted(wall, key=lambda n: min(s[1] for s in clock.spans if s[0] == n)):
        per = max(rounds, 1)
        note = f"{job_count[name] / per:.1f} jobs, {job_time[name] / per:.2f} s"
        rows.append((name, _median(wall[name]), f"s wall; per batch {note}"))
    for name in job_count.keys() - wall.keys():
        rows.append((name, job_time[name] / max(rounds, 1), f"s jobs, {job_count[name]} jobs"))
    print_table(f"engine micro-batch by step (medians of {rounds})", rows)
    by_site: dict[str, list[float]] = defaultdict(list)
    for begin, end, _ in reference.windows:
        for job in jobs:
            if begin <= job.start <= end and job.query == str(pass_id):
                by_site[job.call_site].append(job.end - job.start)
    print_table(
        f"passthrough micro-batch jobs (per batch, over {len(reference.windows)})",
        [
            (site[:34], sum(times) / max(len(reference.windows), 1), f"s, {len(times)} jobs")
            for site, times in sorted(by_site.items())
        ],
    )
