"""A running stream's source lag, from the progress Spark reports after each trigger.

A :class:`LagListener` (a ``StreamingQueryListener``) reads each progress event of its query:
a Kafka source's ``latestOffset`` (the newest offsets when the trigger was planned) minus its
``endOffset`` (how far the trigger read), per topic-partition; a Delta table's latest version
(from its log, not by a Spark job) minus the version read to. It hands the lag to the metrics
destinations (:meth:`~spark_enrich.metrics.base.MetricsSink.lag`) and keeps it for the next
batch's report.
Spark calls listeners from its listener bus, not from the query's thread, so the data path
never waits for it; and it never raises: its own errors are logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pyspark.sql.streaming.listener import StreamingQueryListener

from spark_enrich.accounting import SourceLag

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming.listener import (
        QueryIdleEvent,
        QueryProgressEvent,
        QueryStartedEvent,
        QueryTerminatedEvent,
    )
    from pyspark.sql.streaming.query import StreamingQuery, StreamingQueryManager

    from spark_enrich.metrics.base import MetricsSink
    from spark_enrich.sources import Source

log = logging.getLogger("spark_enrich.metrics")


def _offsets(text: object) -> Any:
    """An offset as Spark reports it (JSON text; ``None``/``null`` when not reported)."""
    if text is None or not isinstance(text, str) or text in ("", "None", "null"):
        return None
    return json.loads(text)


def source_lag(
    source: str, progress: Mapping[str, Any], latest_version: int | None = None
) -> SourceLag | None:
    """The lag in one source's progress (a ``SourceProgress``), or None when it cannot be told.

    Kafka: ``endOffset`` and ``latestOffset`` are ``{topic: {partition: offset}}``; a
    partition's lag is its latest offset minus the end offset read to (a partition without an
    end offset yet is left out). Delta reports no ``latestOffset``: its ``endOffset`` names the
    ``reservoirVersion`` the next trigger reads from, so the versions not yet read in full are
    ``latest_version`` (the table's, from its log) minus that, plus one.
    """
    end = _offsets(progress.get("endOffset"))
    if not isinstance(end, dict):
        return None
    if "reservoirVersion" in end:  # a Delta source
        if latest_version is None:
            return None
        behind = latest_version - int(end["reservoirVersion"]) + 1
        return SourceLag(source, versions=max(0, behind))
    latest = _offsets(progress.get("latestOffset"))
    if not isinstance(latest, dict):
        return None
    offsets: dict[str, int] = {}
    for topic, partitions in sorted(latest.items()):
        read = end.get(topic)
        if not isinstance(partitions, dict) or not isinstance(read, dict):
            continue
        for partition, newest in sorted(partitions.items(), key=lambda kv: int(kv[0])):
            if partition in read:
                offsets[f"{topic}-{partition}"] = max(0, int(newest) - int(read[partition]))
    return SourceLag(source, offsets) if offsets else None


class LagListener(StreamingQueryListener):
    """Feeds the lag of one query's source to ``metrics`` after each trigger; :attr:`latest`
    is the lag last reported (None before the first progress)."""

    def __init__(
        self, spark: SparkSession, pipeline: str, source: Source, metrics: MetricsSink
    ) -> None:
        super().__init__()
        self._session = spark  # `spark` is the base class's (Spark Connect only)
        self.pipeline = pipeline
        self.source = source
        self.metrics = metrics
        self.query_id: str | None = None
        """The query listened to (set once it started: Spark reports every query's progress
        to every listener of the session)."""
        self.latest: SourceLag | None = None
        self._manager: StreamingQueryManager | None = None

    def attach(self, manager: StreamingQueryManager, query_id: str) -> None:
        """Listen to the query ``query_id`` of ``manager`` (a session's ``spark.streams``)."""
        self.query_id = query_id
        manager.addListener(self)
        self._manager = manager

    def detach(self, query: StreamingQuery) -> None:
        """Stop listening once ``query`` ended, after recording its last progress (Spark
        delivers progress to listeners asynchronously: that of a query that just ended may not
        have been heard yet). A failure is logged, never raised."""
        manager, self._manager = self._manager, None
        if manager is None:
            return
        try:
            last = query.lastProgress
            if last is not None:
                self._record(last)
            manager.removeListener(self)
        except Exception as exc:  # the stream's outcome matters more than this listener
            log.warning("source lag listener of %s not removed: %s", self.pipeline, exc)

    def _record(self, progress: Mapping[str, Any]) -> None:
        """Record the lag in ``progress`` (a ``StreamingQueryProgress``) of this query."""
        if self.query_id is None or str(progress.get("id")) != self.query_id:
            return
        sources = progress.get("sources") or []
        if not sources:
            return
        # The engine streams one source per query.
        end = _offsets(sources[0].get("endOffset"))
        versioned = isinstance(end, dict) and "reservoirVersion" in end
        latest = self.source.latest_version(self._session) if versioned else None
        lag = source_lag(self.source.name, sources[0], latest)
        if lag is None:
            return
        self.latest = lag
        self.metrics.lag(self.pipeline, lag)

    def onQueryStarted(self, event: QueryStartedEvent) -> None:
        """Nothing to record."""

    def onQueryProgress(self, event: QueryProgressEvent) -> None:
        """Record the lag in ``event``'s progress, when it is this listener's query's."""
        try:
            self._record(event.progress)
        except Exception as exc:  # a listener must never disturb the stream
            log.warning("source lag of %s not recorded: %s", self.pipeline, exc)

    def onQueryIdle(self, event: QueryIdleEvent) -> None:
        """Nothing to record: an idle query's lag is that of its last progress."""

    def onQueryTerminated(self, event: QueryTerminatedEvent) -> None:
        """Nothing to record."""
