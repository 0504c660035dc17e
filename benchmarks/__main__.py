"""``python -m benchmarks {batch,stream,latency,microbatch,sequences,diff,serving,metrics}``: see
each."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Scratch folder (default: temp)."
    )
    parser.add_argument(
        "--jfr",
        type=Path,
        default=None,
        help="Record a Java Flight Recorder profile of the driver JVM in this file (summarise "
        "it with python -m benchmarks.jfr).",
    )
    sub = parser.add_subparsers(dest="case", required=True)
    b = sub.add_parser("batch", help="Demo batch run vs hand-written job vs passthrough.")
    b.add_argument("--events", type=int, default=1_000_000)
    b.add_argument("--repeat", type=int, default=3)
    s = sub.add_parser("stream", help="Stream throughput vs Kafka->Delta passthrough.")
    s.add_argument("--events", type=int, default=200_000)
    s.add_argument("--max-offsets", type=int, default=50_000)
    s.add_argument("--set", action="append", default=[], help="Engine override (as --set).")
    q = sub.add_parser("sequences", help="Per-user sequences: pipeline vs hand-written job.")
    q.add_argument("--events", type=int, default=200_000)
    q.add_argument("--repeat", type=int, default=3)
    d = sub.add_parser("diff", help="spark-enrich diff vs a plain full outer join.")
    d.add_argument("--rows", type=int, default=1_000_000)
    d.add_argument("--repeat", type=int, default=3)
    lat = sub.add_parser("latency", help="Produce->committed latency at a fixed rate.")
    lat.add_argument("--rate", type=int, default=1000)
    lat.add_argument("--seconds", type=int, default=60)
    lat.add_argument("--trigger-seconds", type=int, default=1)
    lat.add_argument("--warm-up", type=int, default=45, help="Seconds produced, not measured.")
    lat.add_argument("--max-offsets", type=int, default=50_000)
    sv = sub.add_parser("serving", help="Serving API vs bare Redis GET at a fixed rate.")
    sv.add_argument("--users", type=int, default=10_000)
    sv.add_argument("--rate", type=int, default=500)
    sv.add_argument("--seconds", type=float, default=20)
    m = sub.add_parser("microbatch", help="One small micro-batch: demo stream vs passthrough.")
    m.add_argument("--events", type=int, default=10, help="Events per micro-batch (<= 20).")
    m.add_argument("--rounds", type=int, default=8, help="Micro-batches measured per stream.")
    m.add_argument("--warm-up", type=int, default=3, help="Micro-batches run first, not kept.")
    m.add_argument("--profile", action="store_true", help="Event log and per-step timings.")
    m.add_argument("--set", action="append", default=[], help="Engine override (as --set).")
    mt = sub.add_parser("metrics", help="Demo batch run with all metrics on vs off.")
    mt.add_argument("--events", type=int, default=200_000)
    mt.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.jfr is not None:
        from benchmarks.common import JFR_ENV

        os.environ[JFR_ENV] = str(args.jfr.resolve())
    # One folder per case: the cases write tables of different schemas under the same names
    # (a stream run's passthrough table would make a later batch run's overwrite fail).
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="spark-enrich-bench-"))) / args.case
    if args.case == "serving":
        from benchmarks.serving import main as serving

        serving(args.users, args.rate, args.seconds, workdir)
    elif args.case == "batch":
        from benchmarks.batch import main as batch

        batch(args.events, workdir, args.repeat)
    elif args.case == "metrics":
        from benchmarks.metrics import main as metrics

        metrics(args.events, workdir, args.repeat)
    elif args.case == "sequences":
        from benchmarks.sequences import main as sequences

        sequences(args.events, workdir, args.repeat)
    elif args.case == "diff":
        from benchmarks.diff import main as diff

        diff(args.rows, workdir, args.repeat)
    elif args.case == "microbatch":
        from benchmarks.microbatch import main as microbatch

        microbatch(args.events, args.rounds, args.warm_up, workdir, args.profile, args.set)
    elif args.case == "stream":
        from benchmarks.stream import throughput

        throughput(args.events, workdir, args.max_offsets, args.set)
    else:
        from benchmarks.stream import latency

        latency(
            args.rate, args.seconds, workdir, args.trigger_seconds, args.warm_up, args.max_offsets
        )


if __name__ == "__main__":
    main()
