"""Before/after benchmark of two commits in one run: ``python -m benchmarks.compare BEFORE AFTER
CASE [CASE ARGS]``, for example::

    .venv/bin/python -m benchmarks.compare 33b61c4 main batch --events 200000 --repeat 3

Each commit's tree is exported (``git archive``) into a scratch folder and its own benchmark
runs there as a child process (``python -m benchmarks CASE ...``, with that tree first on the
import path, so the engine, the executors and the benchmark code are the commit's). The commits
take turns, round after round (``--rounds``), the order swapped every round so that drift on a
shared machine hits both alike; each row of the case's table is compared by its median.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from benchmarks.common import REPO

ROW = re.compile(r"^  (?P<name>.+?)\s+(?P<value>-?[\d.]+)  ")


def export(commit: str, folder: Path) -> tuple[str, Path]:
    """The commit's short hash and its tree, written under ``folder``."""
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", commit],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    tree = folder / sha
    if not tree.is_dir():
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", sha], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
    return sha, tree


def run_case(tree: Path, case: list[str], workdir: Path) -> dict[str, float]:
    """Run one benchmark in ``tree``; its output is echoed, its table rows returned."""
    inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), *inherited])}
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--workdir", str(workdir), *case],
        cwd=tree, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    print(process.stdout, flush=True)
    if process.returncode != 0:
        raise SystemExit(f"benchmark in {tree} failed:\n{process.stderr[-4000:]}")
    rows = {}
    for line in process.stdout.splitlines():
        if match := ROW.match(line):
            rows[match["name"]] = float(match["value"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=1, help="Turns of each commit.")
    parser.add_argument("--workdir", type=Path, default=None)
    args, case = parser.parse_known_args()
    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="spark-enrich-compare-"))
    commits = [export(args.before, scratch / "trees"), export(args.after, scratch / "trees")]
    samples: dict[str, dict[str, list[float]]] = {sha: {} for sha, _ in commits}
    for round_ in range(args.rounds):
        for sha, tree in commits if round_ % 2 == 0 else commits[::-1]:
            print(f"-- round {round_ + 1}/{args.rounds}: {sha} --", flush=True)
            rows = run_case(tree, case, scratch / f"run-{sha}-{round_}")
            for name, value in rows.items():
                samples[sha].setdefault(name, []).append(value)
    (before, _), (after, _) = commits
    print(f"\n== {' '.join(case)}: {before} -> {after} (median of {args.rounds}) ==")
    print(f"  {'':<34} {before:>11} {after:>11} {'after/before':>13}")
    for name, values in samples[before].items():
        old = statistics.median(values)
        new = statistics.median(samples[after].get(name, [float("nan")]))
        ratio = new / old if old else float("nan")
        print(f"  {name:<34} {old:>11.3f} {new:>11.3f} {ratio:>13.3f}")


if __name__ == "__main__":
    main()
