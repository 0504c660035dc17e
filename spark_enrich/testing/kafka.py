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
import hashlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from spark_enrich.env import check_java
from spark_enrich.errors import BrokerError, EnvironmentProblem

KAFKA_VERSION = "4.1.1"
MAVEN_CENTRAL = os.environ.get("SPARK_ENRICH_MAVEN_REPO", "https://repo1.maven.org/maven2")
_LOCK_FILE = Path(__file__).with_name(f"kafka-{KAFKA_VERSION}.lock")


def cache_dir() -> Path:
    """Where downloaded broker jars live (``$SPARK_ENRICH_CACHE`` or the user cache directory)."""
    override = os.environ.get("SPARK_ENRICH_CACHE")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("spark-enrich"))


@dataclass(frozen=True)
class Artifact:
    """One pinned jar of the broker's runtime class path."""

    group: str
    name: str
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.name}-{self.version}.jar"

    def url(self, repository: str = MAVEN_CENTRAL) -> str:
        path = self.group.replace(".", "/")
        return f"{repository}/{path}/{self.name}/{self.version}/{self.file_name}"


def pinned_artifacts(lock_file: Path = _LOCK_FILE) -> list[Artifact]:
    """Read ``group:artifact:version sha256`` lines of the lock file."""
    artifacts = []
    for line in lock_file.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        coordinate, digest = line.split()
        group, name, version = coordinate.split(":")
        artifacts.append(Artifact(group, name, version, digest))
    return artifacts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_broker_jars(
    target: Path | None = None, *, repository: str = MAVEN_CENTRAL, timeout: float = 60.0
) -> list[Path]:
    """Download the broker's jars once, verify their checksums, and return the class path.

    Jars already in the cache with the right checksum are not downloaded again; a cached jar
    with a wrong checksum is replaced. Downloads go to a temporary name and are renamed only
    after verification, so an interrupted download never leaves a bad jar behind.

    Raises:
        BrokerError: ``DOWNLOAD_FAILED`` or ``CHECKSUM_MISMATCH``, naming the jar and the URL.
    """
    folder = target or cache_dir() / "kafka" / KAFKA_VERSION
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for artifact in pinned_artifacts():
        path = folder / artifact.file_name
        if not (path.is_file() and _sha256(path) == artifact.sha256):
            _download(artifact, path, repository, timeout)
        paths.append(path)
    return paths


def _download(artifact: Artifact, path: Path, repository: str, timeout: float) -> None:
    url = artifact.url(repository)
    partial = path.with_name(path.name + f".{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            while block := response.read(1 << 20):
                out.write(block)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise BrokerError(
            "DOWNLOAD_FAILED",
            f"Could not download the Kafka broker jar {artifact.file_name} from {url}: {exc}. "
            "Check that this machine reaches Maven Central (or set SPARK_ENRICH_MAVEN_REPO to a "
            f"mirror), or copy the jars into {path.parent}.",
            {"url": url, "artifact": artifact.file_name, "cause": str(exc)},
        ) from exc
    found = _sha256(partial)
    if found != artifact.sha256:
        partial.unlink(missing_ok=True)
        raise BrokerError(
            "CHECKSUM_MISMATCH",
            f"{url} has SHA-256 {found}, expected {artifact.sha256}; refusing to use it. "
            "A proxy or mirror may have altered it.",
            {"url": url, "found": found, "expected": artifact.sha256},
        )
    partial.replace(path)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
            _forget_state(folder)
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
        props = _write_config(folder, client_port, controller_port)
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
            storage = ["kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(props)]
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerError(
                    "BROKER_EXITED",
                    f"The Kafka broker exited with code {self._process.returncode} during "
                    f"start-up; last lines of {self.state.log_file}:\n{self.log_tail()}",
                    {"returncode": self._process.returncode},
                )
            if _accepts_connections(self.state.port) and self._metadata_ready():
                return
            time.sleep(0.3)
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


_STATE = ("logs", "ports.json", "broker.json", "server.properties", "log4j2.properties")


def _forget_state(folder: Path) -> None:
    """Delete what a broker kept in ``folder`` (topics, records, cluster id, ports) and only
    that: the folder may be one the user also keeps other files in."""
    import shutil

    for name in _STATE:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _cluster_id() -> str:
    # Kafka wants a base64url 16-byte UUID without padding, as `kafka-storage random-uuid` prints.
    # Like Kafka's own Uuid.randomUuid(), never one starting with "-": the storage tool's
    # argument parser would read it as an option (1 start in 64 failed with FORMAT_FAILED).
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _write_config(folder: Path, port: int, controller_port: int) -> Path:
    props = folder / "server.properties"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={folder / 'logs'}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "log.retention.hours=-1",
                # Keep the single-node broker light: it shares 2 cores with Spark in CI.
                "num.network.threads=2",
                "num.io.threads=2",
                "background.threads=2",
                "",
            ]
        )
    )
    (folder / "log4j2.properties").write_text(
        "\n".join(
            [
                "rootLogger.level=WARN",
                "rootLogger.appenderRef.stdout.ref=STDOUT",
                "appender.stdout.type=Console",
                "appender.stdout.name=STDOUT",
                "appender.stdout.layout.type=PatternLayout",
                "appender.stdout.layout.pattern=[%d] %p %m (%c)%n",
                "logger.kafka.name=kafka",
                "logger.kafka.level=INFO",
                "",
            ]
        )
    )
    return props


@contextlib.contextmanager
def running_broker(data_dir: Path | None = None) -> Iterator[LocalKafkaBroker]:
    """Context manager form of :meth:`LocalKafkaBroker.start`."""
    broker = LocalKafkaBroker.start(data_dir)
    try:
        yield broker
    finally:
        broker.stop()
