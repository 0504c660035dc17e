"""A real single-node Apache Kafka broker (KRaft mode) on loopback, for tests, demos and notebooks.

The broker's jars are downloaded once from Maven Central into the user's cache directory and
verified against the SHA-256 sums pinned in ``kafka-<version>.lock`` beside this module; nothing
binary is ever committed. The broker runs as a child JVM in its own process group, bound to
127.0.0.1 on free ports, with its log directory in a folder of the caller's choosing.

Example:
    >>> with LocalKafkaBroker.start() as broker:  # doctest: +SKIP
    ...     print(broker.bootstrap_servers)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from spark_enrich._proc import Start, free_port, wait_until_ready
from spark_enrich.env import check_java
from spark_enrich.errors import BrokerError, EnvironmentProblem
from spark_enrich.testing.kafka_files import cluster_id, forget_state, write_config
from spark_enrich.testing.kafka_jars import (  # re-exported: their import path stays
    KAFKA_VERSION,
    MAVEN_CENTRAL,
    Artifact,
    cache_dir,
    ensure_broker_jars,
    pinned_artifacts,
)

__all__ = [
    "KAFKA_VERSION",
    "MAVEN_CENTRAL",
    "Artifact",
    "BrokerState",
    "LocalKafkaBroker",
    "cache_dir",
    "ensure_broker_jars",
    "free_port",
    "pinned_artifacts",
    "running_broker",
]


def _require_free(port: int, advice: str | None = None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the broker's own server socket does: connections of a stopped broker still in
        # TIME_WAIT must not make its restart on the same port fail; a listener still does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise EnvironmentProblem(
                "PORT_IN_USE",
                f"Port {port} on 127.0.0.1 is already in use ({exc.strerror}); the Kafka broker "
                "cannot listen there. "
                + (advice or "Stop what uses it, or omit the port to pick a free one."),
                {"port": port},
            ) from exc


def _accepts_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


@dataclass
class BrokerState:
    """What ``spark-enrich kafka status`` needs to find a broker started by another process."""

    pid: int
    port: int
    controller_port: int
    data_dir: str
    log_file: str

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"


class LocalKafkaBroker:
    """A single-node KRaft Kafka broker child process. Use :meth:`start`; stop with :meth:`stop`
    or a ``with`` block."""

    def __init__(self, state: BrokerState, process: subprocess.Popen[bytes] | None) -> None:
        self.state = state
        self._process = process

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for Kafka clients and ``kafka.bootstrap.servers``."""
        return self.state.bootstrap_servers

    @property
    def pid(self) -> int:
        return self.state.pid

    @classmethod
    def start(
        cls,
        data_dir: Path | None = None,
        *,
        port: int | None = None,
        heap: str = "512m",
        startup_timeout: float = 90.0,
        reset: bool = False,
    ) -> LocalKafkaBroker:
        """Start the broker and return once it serves. A folder a broker used before is a
        restart: its topics, records and ports are kept; otherwise a fresh KRaft log directory
        is formatted.

        Args:
            data_dir: folder for the broker's logs and config; a new temporary one by default.
            port: client port on 127.0.0.1; by default the folder's previous one, else a free one.
            heap: the broker JVM's maximum heap.
            startup_timeout: seconds to wait until the broker accepts requests.
            reset: forget the folder's topics, records and ports first (start empty).

        Raises:
            EnvironmentProblem: no suitable Java, or the port is in use.
            BrokerError: the jars could not be obtained or the broker did not come up.
        """
        java = check_java().executable
        if port is not None:
            _require_free(port)
        class_path = os.pathsep.join(str(p) for p in ensure_broker_jars())
        folder = Path(data_dir or tempfile.mkdtemp(prefix="spark-enrich-kafka-"))
        folder.mkdir(parents=True, exist_ok=True)
        if reset:
            forget_state(folder)
        ports_file = folder / "ports.json"
        previous = json.loads(ports_file.read_text()) if ports_file.is_file() else {}
        # A restarted broker comes back on its old ports so that clients find it again.
        client_port = port or previous.get("port") or free_port()
        controller_port = previous.get("controller_port") or free_port()
        while controller_port == client_port:
            controller_port = free_port()
        if previous:
            again = f"It is the port the broker in {folder} used before, kept so clients find it."
            if port is None:
                _require_free(
                    client_port,
                    f"{again} Stop what uses it, or start on another port (--port, port=) or "
                    "with --reset (reset=True: its topics and records are deleted).",
                )
            _require_free(
                controller_port,
                f"It is the controller port the broker in {folder} used before. Stop what uses "
                "it, or start with --reset (reset=True: its topics and records are deleted).",
            )
        ports_file.write_text(json.dumps({"port": client_port, "controller_port": controller_port}))
        props = write_config(folder, client_port, controller_port)
        log_file = folder / "broker.log"
        java_cmd = [
            str(java),
            f"-Xmx{heap}",
            "-Xms128m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
        ]
        java_cmd += [
            f"-Dlog4j2.configurationFile={folder / 'log4j2.properties'}",
            "-cp",
            class_path,
        ]
        # An existing log directory is a restart: keep its topics and offsets (no format).
        if not (folder / "logs" / "meta.properties").is_file():
            storage = ["kafka.tools.StorageTool", "format", "-t", cluster_id(), "-c", str(props)]
            fmt = subprocess.run(
                [*java_cmd, *storage], capture_output=True, text=True, timeout=120, check=False
            )
            if fmt.returncode != 0:
                raise BrokerError(
                    "FORMAT_FAILED",
                    f"Formatting the KRaft log directory failed: {fmt.stderr.strip()[-2000:]}",
                    {"data_dir": str(folder)},
                )
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                [*java_cmd, "kafka.Kafka", str(props)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # own process group: stop() can signal all of it
            )
        state = BrokerState(process.pid, client_port, controller_port, str(folder), str(log_file))
        broker = cls(state, process)
        try:
            broker._wait_ready(startup_timeout)
        except BaseException:
            broker.stop()
            raise
        (folder / "broker.json").write_text(json.dumps(asdict(state)))
        return broker

    def _wait_ready(self, timeout: float) -> None:
        started = wait_until_ready(
            self._process,
            lambda: _accepts_connections(self.state.port) and self._metadata_ready(),
            timeout=timeout,
            interval=0.3,
        )
        if started is Start.READY:
            return
        if started is Start.EXITED:
            assert self._process is not None
            raise BrokerError(
                "BROKER_EXITED",
                f"The Kafka broker exited with code {self._process.returncode} during "
                f"start-up; last lines of {self.state.log_file}:\n{self.log_tail()}",
                {"returncode": self._process.returncode},
            )
        raise BrokerError(
            "BROKER_START_TIMEOUT",
            f"The Kafka broker did not serve requests within {timeout:.0f}s; last lines of "
            f"{self.state.log_file}:\n{self.log_tail()}",
            {"timeout": timeout},
        )

    def _metadata_ready(self) -> bool:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        try:
            metadata = admin.list_topics(timeout=2)
        except Exception:  # not ready yet: the client raises KafkaException on timeouts
            return False
        return bool(metadata.brokers)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the broker's log, for error messages."""
        try:
            return "\n".join(
                Path(self.state.log_file).read_text(errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return "(no log)"

    def is_running(self) -> bool:
        """Whether the broker process is still alive."""
        if self._process is not None:
            return self._process.poll() is None
        return _pid_alive(self.state.pid)

    def create_topic(self, name: str, partitions: int = 1) -> None:
        """Create a topic (no-op if it exists) and wait until it is usable."""
        from confluent_kafka.admin import AdminClient
        from confluent_kafka.cimpl import NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        futures = admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=30)
        for future in futures.values():
            try:
                future.result(timeout=60)
            except Exception as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise BrokerError(
                        "TOPIC_CREATE_FAILED",
                        f"Creating topic {name!r} failed: {exc}",
                        {"topic": name},
                    ) from exc

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker: SIGTERM for a clean shutdown, SIGKILL if it takes too long."""
        pid = self.state.pid
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
            if not self.is_running():
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + wait
            while self.is_running() and time.monotonic() < deadline:
                time.sleep(0.1)
        if self.is_running():
            raise BrokerError(
                "BROKER_STOP_FAILED", f"Kafka broker pid {pid} did not stop", {"pid": pid}
            )
        Path(self.state.data_dir, "broker.json").unlink(missing_ok=True)

    @classmethod
    def attach(cls, data_dir: Path) -> LocalKafkaBroker | None:
        """The broker started earlier with ``data_dir``, if its state file is there."""
        state_file = Path(data_dir) / "broker.json"
        if not state_file.is_file():
            return None
        return cls(BrokerState(**json.loads(state_file.read_text())), None)

    def __enter__(self) -> LocalKafkaBroker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def running_broker(data_dir: Path | None = None) -> Iterator[LocalKafkaBroker]:
    """Context manager form of :meth:`LocalKafkaBroker.start`."""
    broker = LocalKafkaBroker.start(data_dir)
    try:
        yield broker
    finally:
        broker.stop()
