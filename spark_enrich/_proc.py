"""Starting local server processes (the Kafka broker, redis-server): a free port, and waiting
until a started process serves, exits or runs out of time."""

from __future__ import annotations

import enum
import socket
import subprocess
import time
from collections.abc import Callable


class Start(enum.Enum):
    """How waiting for a started process ended."""

    READY = "ready"
    EXITED = "exited"
    TIMED_OUT = "timed out"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(
    process: subprocess.Popen[bytes] | None,
    ready: Callable[[], bool],
    *,
    timeout: float,
    interval: float,
) -> Start:
    """Ask ``ready()`` every ``interval`` seconds until it answers True, ``process`` exits
    (checked first: a process that died is not waited for) or ``timeout`` seconds pass.
    The caller turns an exit or a timeout into its own error, with the process's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return Start.EXITED
        if ready():
            return Start.READY
        time.sleep(interval)
    return Start.TIMED_OUT
