"""A stream's checkpoint as the engine sees it: the identity its Delta commits carry
(``txnAppId``) and the record of which sources it was written for.

Checkpoints may live on any Hadoop file system (``s3a://``, ``abfss://``, ``hdfs://``); the
record is read and written through Hadoop's ``FileSystem``, next to Spark's own files, so a
driver on another machine (cluster mode, a new container) finds it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_enrich.config.types import location_key
from spark_enrich.errors import PipelineRunError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

FINGERPRINT_FILE = "spark_enrich.json"


def txn_app_id(pipeline: str, checkpoint: str) -> str:
    """The Delta ``txnAppId`` of a stream: pipeline and checkpoint together, so that a new
    checkpoint (whose batch ids restart at 0) can never be mistaken for replays of the old one.

    The checkpoint counts by its :func:`~spark_enrich.config.types.location_key` (the one
    ``validate`` compares locations by): a local path resolved, as before; a URI as itself,
    not resolved against the driver's working folder (another folder on every machine)."""
    digest = hashlib.sha256(location_key(checkpoint).encode()).hexdigest()[:16]
    return f"spark-enrich:{pipeline}:{digest}"


def source_fingerprint(source: Any) -> dict[str, Any]:
    """What must not change under an existing checkpoint: the source's identity and position."""
    if source.kind == "kafka":
        return {
            "kind": "kafka",
            "name": source.name,
            "topics": sorted(source.topics) if source.topics else None,
            "pattern": source.pattern,
        }
    return {"kind": source.kind, "name": source.name, "path": source.path, "table": source.table}


class _Folder:
    """A folder on a Hadoop file system, through the session's JVM."""

    def __init__(self, spark: SparkSession, location: str) -> None:
        jvm: Any = spark._jvm
        if jvm is None:  # Spark Connect: no driver JVM in this process
            raise PipelineRunError(
                "NO_JVM",
                "Streams run from a classic Spark session (the driver's JVM is needed to read "
                "and write the checkpoint's spark-enrich record); Spark Connect is not supported.",
                {},
            )
        self._jvm = jvm
        self._path = jvm.org.apache.hadoop.fs.Path(location)
        self._fs = self._path.getFileSystem(spark._jsc.hadoopConfiguration())

    def _child(self, name: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(self._path, name)

    def read(self, name: str) -> str | None:
        child = self._child(name)
        if not self._fs.exists(child):
            return None
        stream = self._fs.open(child)
        try:
            return str(self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()

    def write(self, name: str, text: str) -> None:
        self._fs.mkdirs(self._path)
        stream = self._fs.create(self._child(name), True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def is_empty(self) -> bool:
        return not self._fs.exists(self._path) or len(self._fs.listStatus(self._path)) == 0


def _legacy_record(checkpoint: str) -> Path | None:
    """Where earlier versions wrote a URI checkpoint's record: ``Path(uri)``, relative to the
    working folder. None for a local checkpoint (its record was always in place)."""
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", checkpoint):  # one letter: a Windows drive
        return None
    return Path(checkpoint) / FINGERPRINT_FILE


def check_checkpoint(spark: SparkSession, checkpoint: str, pipeline: str, source: Any) -> None:
    """Refuse a checkpoint written for other sources; record ours on first use.

    Raises:
        PipelineRunError: ``CHECKPOINT_INCOMPATIBLE`` naming what changed.
    """
    folder = _Folder(spark, checkpoint)
    expected = {"pipeline": pipeline, "source": source_fingerprint(source)}
    recorded = folder.read(FINGERPRINT_FILE)
    legacy = _legacy_record(checkpoint)
    if recorded is None and legacy is not None and legacy.is_file():
        # Written by spark-enrich before 2026-11 into a local folder named after the URI
        # (`./s3a:/bucket/...`): adopt it, so upgrading does not refuse a running stream.
        recorded = legacy.read_text(encoding="utf-8")
        folder.write(FINGERPRINT_FILE, recorded)
    if recorded is not None:
        found = json.loads(recorded)
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
    folder.write(FINGERPRINT_FILE, json.dumps(expected, sort_keys=True, indent=2))
