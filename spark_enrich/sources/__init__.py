"""Sources: Kafka topics, Delta tables and file archives, compiled from the configuration
(:func:`spark_enrich.plan.compile_source`) into :class:`Source` strategies that read a batch or a
stream, give the fingerprint a stream's checkpoint records and say how a backfill reads around
its range. Every read returns the same *envelope* frame
(:mod:`spark_enrich.sources.envelope`), so that everything after it is one code path.
"""

from spark_enrich.sources.base import Snapshot, Source
from spark_enrich.sources.envelope import kafka_envelope, source_struct, table_envelope
from spark_enrich.sources.kafka import KafkaSource
from spark_enrich.sources.tables import DeltaSource, FilesSource, TableSource

__all__ = [
    "DeltaSource",
    "FilesSource",
    "KafkaSource",
    "Snapshot",
    "Source",
    "TableSource",
    "kafka_envelope",
    "source_struct",
    "table_envelope",
]
