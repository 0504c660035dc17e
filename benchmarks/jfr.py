"""Where a driver thread's CPU went, from a Java Flight Recorder profile of the driver JVM
(``python -m benchmarks --jfr FILE <case>``).

    python -m benchmarks.jfr FILE --thread spark-enrich-demo

Prints, for the execution samples of the threads whose name holds ``--thread`` (a stream's
micro-batches run on its "stream execution thread for <query name>"; a batch run's on a py4j
"Thread-N"), the share that had each step of Spark's or Delta's work on its stack. A sample
can fall under several steps (an explain string built while a query is planned), so the shares
do not add up to 100 %. Samples are taken only while a thread runs Java code: time it spends
waiting for a job, for Python or for a lock is not in them.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

STEPS: dict[str, str] = {
    "analysis (every DataFrame call)": r"QueryExecution\.(analyzed|assertAnalyzed)",
    "optimisation": r"QueryExecution\.(optimizedPlan|assertOptimized)",
    "physical planning": r"QueryExecution\.(executedPlan|sparkPlan)",
    "explain strings for listeners": r"QueryExecution\.explainString",
    "code generation": r"CodeGenerator|WholeStageCodegenExec\.doCodeGen",
    "job submission and waits": r"SparkContext\.runJob|DAGScheduler\.runJob",
    "local checkpoints (materialise)": r"Dataset\.localCheckpoint",
    "Delta: snapshots and state": r"delta\.Snapshot\.|SnapshotManagement",
    "Delta: txnAppId check": r"DeltaCommand\.hasBeenExecuted",
    "Delta: file writes": r"TransactionalWrite\.writeFiles",
    "Delta: commit": r"OptimisticTransactionImpl\.commit",
    "Delta: history and detail": r"DeltaTable\.history|DescribeDeltaDetailCommand",
    "calls from Python (py4j)": r"py4j\.commands\.AbstractCommand\.invokeMethod",
}


@dataclass
class Sample:
    thread: str
    frames: list[str] = field(default_factory=list)


def samples(recording: Path) -> Iterator[Sample]:
    """The recording's execution samples, read from ``jfr print`` as it writes them."""
    command = ["jfr", "print", "--stack-depth", "2048", "--events", "jdk.ExecutionSample"]
    with subprocess.Popen([*command, str(recording)], stdout=subprocess.PIPE, text=True) as jfr:
        assert jfr.stdout is not None
        current: Sample | None = None
        in_stack = False
        for raw in jfr.stdout:
            line = raw.strip()
            if line.startswith("jdk.ExecutionSample"):
                if current is not None:
                    yield current
                current, in_stack = Sample(""), False
            elif current is None:
                continue
            elif line.startswith("sampledThread"):
                current.thread = line.split('"')[1] if '"' in line else ""
            elif line.startswith("stackTrace = ["):
                in_stack = True
            elif in_stack and line == "]":
                in_stack = False
            elif in_stack:
                current.frames.append(line)
        if current is not None:
            yield current


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.jfr", description=__doc__)
    parser.add_argument("recording", type=Path)
    parser.add_argument("--thread", default="", help="Part of the thread names to count.")
    args = parser.parse_args()
    steps = {name: re.compile(pattern) for name, pattern in STEPS.items()}
    threads: Counter[str] = Counter()
    under: Counter[str] = Counter()
    for sample in samples(args.recording):
        threads[sample.thread] += 1
        if args.thread not in sample.thread:
            continue
        stack = "\n".join(sample.frames)
        under.update(name for name, pattern in steps.items() if pattern.search(stack))
    counted = sum(n for t, n in threads.items() if args.thread in t)
    print("busiest threads (samples):")
    for thread, n in threads.most_common(6):
        print(f"  {n:7d}  {thread[:100]}")
    print(f"\n{counted} samples on threads matching {args.thread!r}; share with each step:")
    for name in STEPS:
        print(f"  {under[name] / max(counted, 1):6.1%}  {name}")


if __name__ == "__main__":
    main()
