"""``observability.metrics: {kind: prometheus}``: the driver serves its metrics in Prometheus'
text format (official ``prometheus-client``), on loopback unless configured otherwise.

Counters accumulate per pipeline and executor over the life of the driver; gauges hold the
latest batch (throughput, freshness, last commit) and the latest lag Spark reported; histograms
the batch and phase durations and the freshness of each batch.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from spark_enrich.accounting import BatchReport, SourceLag
from spark_enrich.columns import Reason
from spark_enrich.metrics.base import MetricsSink

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from pyspark.sql import SparkSession

log = logging.getLogger("spark_enrich.metrics")

_P = ("pipeline",)
_PE = ("pipeline", "executor")
_SECONDS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)

_COUNTERS = {
    "input": ("input_events", "Events routed to an executor", _PE),
    "filtered": ("filtered_events", "Events an executor filtered out", _PE),
    "output": ("output_events", "Rows an executor output", _PE),
    "outside": ("outside_range_events", "Backfill output dated outside its range", _PE),
    "dead": ("dead_lettered_events", "Dead letters by executor ('' before routing) and reason",
             (*_PE, "reason")),
    "source": ("source_events", "Events read from the source", _P),
    "unrouted": ("unrouted_events", "Decoded events no executor handles", _P),
    "batches": ("batches", "Batches processed", (*_P, "runtime")),
}  # fmt: skip
_HISTOGRAMS = {
    "duration": ("batch_duration_seconds", "Wall time of a batch", _P),
    "phase": ("phase_duration_seconds", "Wall time of a phase of a batch", (*_P, "phase")),
    "freshness": ("freshness_seconds", "Commit time minus the newest event time written", _PE),
}
_GAUGES = {
    "p50": ("freshness_p50_seconds", "Median of commit minus event time, last batch", _PE),
    "p99": ("freshness_p99_seconds", "99th percentile of commit minus event time, last batch",
            _PE),
    "rate_in": ("input_rows_per_second", "Source rows per second arriving, last batch", _P),
    "rate_done": ("processed_rows_per_second", "Source rows per second processed, last batch",
                  _P),
    "committed": ("last_commit_timestamp_seconds", "When the last sink commit finished", _P),
    "lag": ("source_lag_offsets", "Kafka offsets behind the latest",
            (*_P, "source", "topic", "partition")),
    "lag_all": ("source_lag_offsets_all", "Kafka offsets behind the latest, all partitions",
                (*_P, "source")),
    "lag_versions": ("source_lag_versions", "Delta versions behind the latest", (*_P, "source")),
    "snapshot": ("snapshot_version", "Delta version of an enrichment table the last batch "
                 "joined", (*_P, "table")),
}  # fmt: skip
"""Metric families: attribute -> (name after ``spark_enrich_``, help, labels)."""


class _Families:
    """The metric families of one endpoint, registered in its own registry."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.c = {k: Counter(f"spark_enrich_{n}", h, ls, registry=r) for k, (n, h, ls) in _COUNTERS.items()}  # fmt: skip  # noqa: E501
        self.h = {
            k: Histogram(f"spark_enrich_{n}", h, ls, buckets=_SECONDS, registry=r)
            for k, (n, h, ls) in _HISTOGRAMS.items()
        }
        self.g = {k: Gauge(f"spark_enrich_{n}", h, ls, registry=r) for k, (n, h, ls) in _GAUGES.items()}  # fmt: skip  # noqa: E501

    def record(self, report: BatchReport) -> None:
        p, c, g = report.pipeline, self.c, self.g
        c["batches"].labels(p, report.runtime).inc()
        c["source"].labels(p).inc(report.source_rows)
        c["unrouted"].labels(p).inc(report.unrouted)
        router = dict(report.decode_dead_lettered)
        if report.unrouted_dead_lettered:
            router[Reason.UNKNOWN_EVENT_TYPE.value] = report.unrouted_dead_lettered
        for reason, n in router.items():
            c["dead"].labels(p, "", reason).inc(n)
        for e in report.executors:
            c["input"].labels(p, e.executor).inc(e.input)
            c["filtered"].labels(p, e.executor).inc(e.filtered)
            c["output"].labels(p, e.executor).inc(e.output)
            c["outside"].labels(p, e.executor).inc(e.outside_range)
            for reason, n in e.dead_lettered_by_reason.items():
                c["dead"].labels(p, e.executor, reason).inc(n)
            if e.freshness is not None:
                self.h["freshness"].labels(p, e.executor).observe(e.freshness.newest_ms / 1000)
                g["p50"].labels(p, e.executor).set(e.freshness.p50_ms / 1000)
                g["p99"].labels(p, e.executor).set(e.freshness.p99_ms / 1000)
        self.h["duration"].labels(p).observe(report.duration_ms / 1000)
        for phase, ms in report.phases_ms.items():
            self.h["phase"].labels(p, phase).observe(ms / 1000)
        if report.input_rows_per_second is not None:
            g["rate_in"].labels(p).set(report.input_rows_per_second)
        if report.processed_rows_per_second is not None:
            g["rate_done"].labels(p).set(report.processed_rows_per_second)
        if report.committed_at is not None:
            g["committed"].labels(p).set(report.committed_at.timestamp())
        for table, version in report.tables.items():
            g["snapshot"].labels(p, table).set(version)

    def record_lag(self, pipeline: str, lag: SourceLag) -> None:
        for key, behind in lag.offsets.items():
            topic, _, partition = key.rpartition("-")
            self.g["lag"].labels(pipeline, lag.source, topic, partition).set(behind)
        if lag.total_offsets is not None:
            self.g["lag_all"].labels(pipeline, lag.source).set(lag.total_offsets)
        if lag.versions is not None:
            self.g["lag_versions"].labels(pipeline, lag.source).set(lag.versions)


@dataclass
class _Endpoint:
    families: _Families
    server: WSGIServer


_ENDPOINTS: dict[tuple[str, int], _Endpoint] = {}
"""Endpoints on a fixed port, shared by every pipeline of the driver (labels tell them apart);
port 0 (any free port) gives each destination an endpoint of its own."""
_LOCK = threading.Lock()


class PrometheusMetrics(MetricsSink):
    """Serves the metrics at ``http://host:port/metrics`` from the driver, started on first
    use; a port already taken is logged (``METRICS_WRITE_FAILED``) and the data path goes on."""

    def __init__(self, host: str = "127.0.0.1", port: int = 9464) -> None:
        self.host = host
        self.requested_port = port
        self._endpoint: _Endpoint | None = None
        self._failed = False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PrometheusMetrics):
            return NotImplemented
        return (self.host, self.requested_port) == (other.host, other.requested_port)

    def __hash__(self) -> int:
        return hash((self.host, self.requested_port))

    def __repr__(self) -> str:
        return f"PrometheusMetrics(host={self.host!r}, port={self.requested_port})"

    @property
    def port(self) -> int | None:
        """The port the endpoint listens on (the free port chosen for 0); None before start."""
        return self._endpoint.server.server_port if self._endpoint is not None else None

    def start(self) -> None:
        """Serve the endpoint (once; a failure is logged once)."""
        if self._endpoint is not None or self._failed:
            return
        key = (self.host, self.requested_port)
        with _LOCK:
            shared = _ENDPOINTS.get(key) if self.requested_port else None
            if shared is None:
                try:
                    families = _Families()
                    server, _ = start_http_server(
                        self.requested_port, addr=self.host, registry=families.registry
                    )
                except Exception as exc:  # a port in use must not stop the pipeline
                    self._failed = True
                    log.error(
                        "METRICS_WRITE_FAILED: the Prometheus endpoint could not listen on "
                        "%s:%s (%s); the pipeline runs without it.",
                        self.host,
                        self.requested_port,
                        exc,
                    )
                    return
                shared = _Endpoint(families, server)
                if self.requested_port:
                    _ENDPOINTS[key] = shared
            self._endpoint = shared
        log.info("Prometheus metrics at http://%s:%s/metrics", self.host, self.port)

    def emit(self, spark: SparkSession, report: BatchReport) -> None:
        """Count ``report`` in the endpoint's metrics."""
        self.start()
        if self._endpoint is None:
            return
        try:
            self._endpoint.families.record(report)
        except Exception as exc:  # metrics must never stop the data path
            log.error("METRICS_WRITE_FAILED: batch %s not counted: %s", report.batch_id, exc)

    def lag(self, pipeline: str, lag: SourceLag) -> None:
        """Set the lag gauges."""
        self.start()
        if self._endpoint is None:
            return
        try:
            self._endpoint.families.record_lag(pipeline, lag)
        except Exception as exc:  # metrics must never stop the data path
            log.error("METRICS_WRITE_FAILED: lag of %s not recorded: %s", pipeline, exc)

    def stop(self) -> None:
        """Stop serving an endpoint of its own (port 0); a shared one serves on."""
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None and not self.requested_port:
            endpoint.server.shutdown()
            endpoint.server.server_close()
