"""A stream's checkpoint as the engine sees it: the identity its Delta commits carry
(``txnAppId``) and the record of which sources it was written for.

Checkpoints may live on any Hadoop file system (``s3a://``, ``abfss://``, ``hdfs://``); the
record is read and written through Hadoop's ``FileSystem``, next to Spark's own files, so a
driver on another machine (cluster mode, a new container) finds it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_enrich import _jvm
from spark_enrich.config.types import location_key
from spark_enrich.errors import PipelineRunError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_enrich.sources import Source

log = logging.getLogger(__name__)

FINGERPRINT_FILE = "spark_enrich.json"
_TEMP_SUFFIX = ".tmp"


def txn_app_id(pipeline: str, checkpoint: str) -> str:
    """The Delta ``txnAppId`` of a stream: pipeline and checkpoint together, so that a new
    checkpoint (whose batch ids restart at 0) can never be mistaken for replays of the old one.

    The checkpoint counts by its :func:`~spark_enrich.config.types.location_key` (the one
    ``validate`` compares locations by): a local path resolved, as before; a URI as itself,
    not resolved against the driver's working folder (another folder on every machine)."""
    digest = hashlib.sha256(location_key(checkpoint).encode()).hexdigest()[:16]
    return f"spark-enrich:{pipeline}:{digest}"


class _Folder:
    """A folder on a Hadoop file system, through the session's JVM."""

    def __init__(self, spark: SparkSession, location: str) -> None:
        found = _jvm.hadoop_file_system(spark, location)
        if found is None:  # Spark Connect: no driver JVM in this process
            raise PipelineRunError(
                "NO_JVM",
                "Streams run from a classic Spark session (the driver's JVM is needed to read "
                "and write the checkpoint's spark-enrich record); Spark Connect is not supported.",
                {},
            )
        self._spark = spark
        self._path, self._fs = found

    def _child(self, name: str) -> Any:
        return _jvm.hadoop_child(self._spark, self._path, name)

    def location(self, name: str) -> str:
        """The full path of ``name`` in this folder, for messages."""
        return str(self._child(name).toString())

    def read(self, name: str) -> str | None:
        """The text of ``name``; None when it does not exist.

        Raises:
            _Damaged: its bytes do not match their Hadoop checksum (a file cut short).
        """
        child = self._child(name)
        if not self._fs.exists(child):
            return None
        try:
            stream = self._fs.open(child)
            try:
                return _jvm.read_utf8(self._spark, stream)
            finally:
                stream.close()
        except Exception as exc:  # py4j's Py4JJavaError, without importing py4j here
            if "ChecksumException" not in str(exc):
                raise
            raise _Damaged("its content does not match its checksum") from exc

    def write(self, name: str, text: str, *, replace: bool = False) -> None:
        """Write ``name`` atomically: a hidden temporary file in the same folder, then a rename,
        so a driver killed mid-write leaves no partial record (only a temporary file that
        :meth:`leftovers` finds)."""
        self._fs.mkdirs(self._path)
        temp = self._child(f".{name}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
        target = self._child(name)
        try:
            stream = self._fs.create(temp, True)
            try:
                stream.write(bytearray(text.encode("utf-8")))
            finally:
                stream.close()
            if replace and self._fs.exists(target):
                self._fs.delete(target, False)
            if not self._fs.rename(temp, target):
                raise PipelineRunError(
                    "CHECKPOINT_WRITE_FAILED",
                    f"Could not rename {temp.toString()} to {target.toString()} (does "
                    f"{target.toString()} exist already? another stream starting on the same "
                    "checkpoint?).",
                    {"path": str(target.toString())},
                )
        finally:
            if self._fs.exists(temp):
                self._fs.delete(temp, False)

    def names(self) -> list[str]:
        """The names in the folder (none when it does not exist)."""
        if not self._fs.exists(self._path):
            return []
        return [str(status.getPath().getName()) for status in self._fs.listStatus(self._path)]

    def leftovers(self) -> list[str]:
        """Temporary files of interrupted record writes (and their Hadoop checksum files)."""
        prefix = f".{FINGERPRINT_FILE}."
        return [
            n
            for n in self.names()
            if n.startswith((prefix, f".{prefix}"))
            and n.removesuffix(".crc").endswith(_TEMP_SUFFIX)
        ]

    def delete(self, name: str) -> None:
        self._fs.delete(self._child(name), False)

    def is_empty(self) -> bool:
        return not self._fs.exists(self._path) or len(self._fs.listStatus(self._path)) == 0


class _Damaged(Exception):
    """A record that cannot be read or parsed; the message says how."""


def _parse(text: str) -> dict[str, Any]:
    """The record's content.

    Raises:
        _Damaged: empty, cut short or not a JSON object.
    """
    if not text.strip():
        raise _Damaged("it is empty")
    try:
        found = json.loads(text)
    except ValueError as exc:
        raise _Damaged(f"it is not valid JSON ({exc}), as a write cut short leaves it") from exc
    if not isinstance(found, dict):
        raise _Damaged(f"it holds {type(found).__name__}, not a JSON object")
    return found


def _legacy_record(checkpoint: str) -> Path | None:
    """Where earlier versions wrote a URI checkpoint's record: ``Path(uri)``, relative to the
    working folder. None for a local checkpoint (its record was always in place)."""
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", checkpoint):  # one letter: a Windows drive
        return None
    return Path(checkpoint) / FINGERPRINT_FILE


def check_checkpoint(spark: SparkSession, checkpoint: str, pipeline: str, source: Source) -> None:
    """Refuse a checkpoint written for other sources; record ours on first use.

    A record damaged while it was first written (empty or cut short, nothing else in the
    folder yet) is written again; one damaged beside Spark's files is refused.

    Raises:
        PipelineRunError: ``CHECKPOINT_INCOMPATIBLE`` naming what changed;
            ``CHECKPOINT_RECORD_DAMAGED`` naming the record and what to do.
    """
    folder = _Folder(spark, checkpoint)
    expected = {"pipeline": pipeline, "source": source.fingerprint()}
    expected_text = json.dumps(expected, sort_keys=True, indent=2)
    for leftover in folder.leftovers():  # a write interrupted before its rename
        folder.delete(leftover)
    where = folder.location(FINGERPRINT_FILE)
    try:
        recorded = folder.read(FINGERPRINT_FILE)
        legacy = _legacy_record(checkpoint)
        if recorded is None and legacy is not None and legacy.is_file():
            # Written by spark-enrich before 2026-11 into a local folder named after the URI
            # (`./s3a:/bucket/...`): adopt it, so upgrading does not refuse a running stream.
            where = str(legacy)
            recorded = legacy.read_text(encoding="utf-8")
            _parse(recorded)  # a damaged one is not copied in
            folder.write(FINGERPRINT_FILE, recorded)
        found = None if recorded is None else _parse(recorded)
    except _Damaged as damage:
        own = {FINGERPRINT_FILE, f".{FINGERPRINT_FILE}.crc"}
        if where == folder.location(FINGERPRINT_FILE) and set(folder.names()) <= own:
            # Nothing but the record: it was being written when the driver died, before Spark
            # wrote anything, so there is no state it could describe wrongly. Write it again.
            log.warning("checkpoint record %s is damaged (%s); rewriting it", where, damage)
            folder.write(FINGERPRINT_FILE, expected_text, replace=True)
            return
        raise _damaged(checkpoint, where, expected, damage) from damage
    if found is not None:
        if found != expected:
            raise PipelineRunError(
                "CHECKPOINT_INCOMPATIBLE",
                f"Checkpoint {checkpoint} was written for {json.dumps(found, sort_keys=True)}, "
                f"but the pipeline now reads {json.dumps(expected, sort_keys=True)}. Its offsets "
                "would silently skip or reprocess events. Restore the previous source settings, "
                "or point runtime.stream.checkpoint at a new folder (and backfill the gap).",
                {"checkpoint": checkpoint, "found": found, "expected": expected},
            )
        return
    if not folder.is_empty():
        raise PipelineRunError(
            "CHECKPOINT_INCOMPATIBLE",
            f"Checkpoint {checkpoint} exists but was not written by spark-enrich (no "
            f"{FINGERPRINT_FILE}); refusing to guess which sources it belongs to.",
            {"checkpoint": checkpoint},
        )
    folder.write(FINGERPRINT_FILE, expected_text)


def _damaged(
    checkpoint: str, where: str, expected: Mapping[str, object], damage: Exception
) -> PipelineRunError:
    """The error for a damaged record beside Spark's own files: what it is for, how to mend it."""
    return PipelineRunError(
        "CHECKPOINT_RECORD_DAMAGED",
        f"The spark-enrich record {where} of checkpoint {checkpoint} is damaged: {damage}. "
        "It says which sources the checkpoint's offsets belong to, so the stream does not "
        "guess. If this checkpoint was written by this pipeline reading its current "
        f"sources, replace the record's content with {json.dumps(expected, sort_keys=True)} "
        "and restart; otherwise point runtime.stream.checkpoint at a new folder (and "
        "backfill the gap).",
        {"checkpoint": checkpoint, "path": where, "problem": str(damage)},
    )
