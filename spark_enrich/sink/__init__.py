"""The Delta sink: append, merge on the event key, or fold into per-group sequences
(:mod:`spark_enrich.sequence`); partitioned, with table properties and commit metadata;
idempotent per micro-batch and exact per backfill date range.

One strategy class per ``sink.mode``, chosen by :func:`make_sink` when the pipeline is compiled:
nothing tests the mode while batches run. Another kind of sink (an online store) is another
strategy. ``sink.dedup`` (:class:`Redeliveries`) drops redelivered events before the executors,
and lets a stream append instead of merging every micro-batch.
"""

from spark_enrich.sink.append import AppendSink
from spark_enrich.sink.base import METADATA_DDL, DateRange, DeltaSink, user_metadata
from spark_enrich.sink.dedup import Redeliveries
from spark_enrich.sink.factory import make_sink
from spark_enrich.sink.merge import MergeSink
from spark_enrich.sink.sequence import SequenceSink

__all__ = [
    "METADATA_DDL",
    "AppendSink",
    "DateRange",
    "DeltaSink",
    "MergeSink",
    "Redeliveries",
    "SequenceSink",
    "make_sink",
    "user_metadata",
]
