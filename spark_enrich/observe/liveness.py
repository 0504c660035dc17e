"""Is a stream running, and how far has it got: read from its checkpoint.

A running stream holds an advisory lock (``flock``) on ``spark_enrich.lock`` in its checkpoint
folder for as long as its query runs; the operating system drops the lock when the process
ends, however it ends, so a held lock means a live query and never a stale marker. Locks work
on a local (or NFS) folder only: for a checkpoint on an object store (``s3a://``, ``abfss://``)
liveness is unknown and ``status`` shows how long ago the last micro-batch committed instead.

Spark's own files say how far the stream has got: ``offsets/N`` is written when micro-batch N
starts and ``commits/N`` when it ends; both are read through Hadoop's ``FileSystem``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from spark_enrich import _jvm
from spark_enrich.config.types import location_key

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

LOCK_FILE = "spark_enrich.lock"


def _local_folder(checkpoint: str) -> Path | None:
    """The checkpoint as a local folder; None for a URI of another file system."""
    key = location_key(checkpoint)
    return None if "://" in key else Path(key)


@dataclass
class CheckpointHold:
    """The lock a running stream holds on its checkpoint; :meth:`release` when it stops."""

    handle: IO[str] | None

    def release(self) -> None:
        """Drop the lock (closing the file releases it)."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def hold_checkpoint(checkpoint: str) -> CheckpointHold:
    """Lock ``checkpoint`` for this process's query. Never fails the stream: a checkpoint on
    an object store, or a lock that cannot be taken, gives a hold that holds nothing."""
    folder = _local_folder(checkpoint)
    if folder is None:
        return CheckpointHold(None)
    try:
        import fcntl

        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / LOCK_FILE).open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        started = datetime.now(timezone.utc).isoformat()
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": started}
        handle.write(json.dumps(owner))
        handle.flush()
        return CheckpointHold(handle)
    except (OSError, ImportError) as exc:  # liveness is a convenience, never a stream failure
        log.info("cannot lock %s for status (%s); status will not see this stream", folder, exc)
        return CheckpointHold(None)


def is_held(checkpoint: str) -> bool | None:
    """Whether a running query holds ``checkpoint``; None when that cannot be known (a
    checkpoint that is not a local folder, or a system without ``flock``)."""
    folder = _local_folder(checkpoint)
    if folder is None:
        return None
    path = folder / LOCK_FILE
    if not path.is_file():
        return False
    try:
        import fcntl
    except ImportError:
        return None
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@dataclass(frozen=True)
class CheckpointProgress:
    """How far a stream's checkpoint has got, and whether a query holds it."""

    location: str
    last_started: int | None
    """The newest micro-batch with an ``offsets`` file (planned or running)."""
    started_at: datetime | None
    last_committed: int | None
    """The newest micro-batch with a ``commits`` file (finished)."""
    committed_at: datetime | None
    held: bool | None

    @property
    def in_flight(self) -> bool:
        """A micro-batch started and not committed: running now, or cut off by a crash."""
        return self.last_started is not None and self.last_started != self.last_committed

    def to_dict(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "checkpoint": self.location,
            "alive": self.held,
            "last_started_batch": self.last_started,
            "last_started_at": iso(self.started_at),
            "last_committed_batch": self.last_committed,
            "last_committed_at": iso(self.committed_at),
            "batch_in_flight": self.in_flight,
        }


def _newest(
    spark: SparkSession, checkpoint: str, folder: str
) -> tuple[int | None, datetime | None]:
    """The highest batch id among ``checkpoint/folder``'s files, and that file's mtime."""
    found = _jvm.hadoop_file_system(spark, checkpoint)
    if found is None:
        return None, None
    path, fs = found
    child = _jvm.hadoop_child(spark, path, folder)
    if not fs.exists(child):
        return None, None
    best: tuple[int, int] | None = None
    for status in fs.listStatus(child):
        name = str(status.getPath().getName())
        if name.isdigit() and (best is None or int(name) > best[0]):
            best = (int(name), int(status.getModificationTime()))
    if best is None:
        return None, None
    return best[0], datetime.fromtimestamp(best[1] / 1000, tz=timezone.utc)


def checkpoint_progress(spark: SparkSession, checkpoint: str) -> CheckpointProgress:
    """Read ``checkpoint``'s newest ``offsets`` and ``commits`` files and its lock."""
    started, started_at = _newest(spark, checkpoint, "offsets")
    committed, committed_at = _newest(spark, checkpoint, "commits")
    return CheckpointProgress(
        checkpoint, started, started_at, committed, committed_at, is_held(checkpoint)
    )
