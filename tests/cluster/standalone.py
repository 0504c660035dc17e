"""A real Spark standalone cluster for the tests: a master and a worker started from pyspark's
own ``spark-class`` as separate processes on 127.0.0.1, the worker's ``python3`` a bare virtual
environment without this project (as on a cluster node)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import venv
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pyspark

SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"
# What a node's environment does not have: the driver's Python settings.
DRIVER_ONLY = ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH", "VIRTUAL_ENV")


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_environment(path_first: Path | None = None) -> dict[str, str]:
    """This process's environment as a node's: without the driver's Python settings."""
    env = {k: v for k, v in os.environ.items() if k not in DRIVER_ONLY}
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env.get('PATH', '')}"
    return env


@dataclass(frozen=True)
class Cluster:
    """A running standalone master with one worker."""

    master_url: str
    web_url: str
    bare_python: Path
    logs: Path

    def log_tail(self, lines: int = 40) -> str:
        """The end of the master's and worker's logs, for a failing test's message."""
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            text = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(parts)


def _wait_for_worker(web_url: str, procs: list[subprocess.Popen[bytes]], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("the master or the worker exited while starting")
        with (
            suppress(OSError, ValueError),
            urllib.request.urlopen(f"{web_url}/json/", timeout=2) as answer,
        ):
            if json.load(answer).get("aliveworkers", 0) >= 1:
                return
        time.sleep(0.5)
    raise RuntimeError(f"no worker registered with the master within {within:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    # The worker's executors run in the process group the test started for it.
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def standalone_cluster(folder: Path, *, cores: int = 2, memory: str = "2g") -> Iterator[Cluster]:
    """Start a master and a worker; stop both (and the worker's executors) on exit."""
    bare = folder / "node-python"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(bare)
    logs = folder / "logs"
    logs.mkdir(parents=True)
    port, web, worker_web = free_port(), free_port(), free_port()
    master_url, web_url = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{web}"
    env = node_environment(bare / "bin")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name, args in (
            ("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                        "--port", str(port), "--webui-port", str(web)]),
            ("worker", ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                        "--webui-port", str(worker_web), "--cores", str(cores),
                        "--memory", memory, "--work-dir", str(folder / "work"), master_url]),
        ):  # fmt: skip
            with (logs / f"{name}.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        [str(SPARK_CLASS), *args],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        _wait_for_worker(web_url, procs, within=120)
        yield Cluster(master_url, web_url, bare / "bin" / "python3", logs)
    finally:
        for proc in reversed(procs):
            _stop(proc)


def python_of_the_node(cluster: Cluster) -> str:
    """What ``python3`` a node runs: its ``sys.prefix``, for the test's own check."""
    done = subprocess.run(
        [str(cluster.bare_python), "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
        env=node_environment(),
    )
    return done.stdout.strip()


__all__ = ["Cluster", "free_port", "node_environment", "python_of_the_node", "standalone_cluster"]
