"""Materialising a batch's intermediate frames once, for every write that reads them.

``persist()`` is not enough here: Delta's MERGE plans its source without Spark's cache
(delta-io/delta#2011), so a persisted frame feeding the sink and dead-letter MERGEs would be
computed again from the raw input for each of them (decode, executors, joins). A local
checkpoint cuts the lineage instead: every later reader, MERGE included, reads the stored
blocks, and no expression (``current_timestamp``, row ids, a service call) is evaluated twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pyspark import StorageLevel

from spark_enrich._jvm import unpersist_checkpointed

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)


def materialize(df: DataFrame) -> DataFrame:
    """Compute ``df`` now and return a frame reading the stored result (memory, spilling to
    local disk).

    A failing expression (a poison row) raises here, while the caller can still isolate it.
    """
    return df.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)


def release(df: DataFrame) -> None:
    """Free the blocks of a frame returned by :func:`materialize`.

    Spark frees checkpoint blocks only when the driver's garbage collector collects the RDD,
    which a long-running stream cannot wait for. This reaches the RDD through the classic
    (py4j) API; elsewhere (Spark Connect) it does nothing and the cleaner frees them later.
    """
    try:
        unpersist_checkpointed(df)
    except Exception as exc:  # not a checkpointed frame, or not a classic session
        log.debug("could not release a materialised frame: %s", exc)
