"""``observability.metrics: {kind: prometheus}``: the driver's endpoint, scraped over loopback
and parsed with prometheus-client's own text-format parser, shows a batch's counts per executor
and a stream's lag; the Delta table's rows of the same report sum to the report's totals."""

from __future__ import annotations

import urllib.request
from datetime import datetime, timedelta, timezone

from prometheus_client.parser import text_string_to_metric_families

from spark_enrich.accounting import BatchReport, EventTimes, ExecutorCounts, SourceLag
from spark_enrich.metrics import METRICS_SCHEMA, PrometheusMetrics, metrics_rows

COMMIT = datetime(2026, 1, 5, 12, tzinfo=timezone.utc)


def _report() -> BatchReport:
    report = BatchReport("demo", "run1", 3, source_rows=10, routed=8, unrouted=1, runtime="stream")
    report.decode_dead_lettered = {"decode_error": 1}
    clicks = ExecutorCounts("clicks", "1.0", 5, 1, 3, 1, dead_lettered_by_reason={"contract_violation": 1})  # fmt: skip  # noqa: E501
    clicks.event_times = EventTimes(COMMIT - timedelta(seconds=2), COMMIT - timedelta(seconds=5), COMMIT - timedelta(seconds=9))  # fmt: skip  # noqa: E501
    report.executors = [clicks, ExecutorCounts("views", "1.0", 3, 0, 3, 0)]
    report.duration_ms = 2000
    report.mark_committed(COMMIT)
    return report


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_endpoint_shows_counts_per_executor_freshness_and_lag() -> None:
    sink = PrometheusMetrics("127.0.0.1", 0)
    try:
        sink.emit(None, _report())  # type: ignore[arg-type]  # the endpoint needs no Spark
        sink.lag("demo", SourceLag("events", {"clicks-0": 7, "clicks-1": 3}))
        assert sink.port is not None
        got = _scrape(sink.port)
        pe = (("executor", "clicks"), ("pipeline", "demo"))
        assert got[("spark_enrich_output_events_total", pe)] == 3
        assert got[("spark_enrich_input_events_total", pe)] == 5
        assert got[("spark_enrich_dead_lettered_events_total", (*pe[:1], ("pipeline", "demo"), ("reason", "contract_violation")))] == 1  # fmt: skip  # noqa: E501
        assert got[("spark_enrich_dead_lettered_events_total", (("executor", ""), ("pipeline", "demo"), ("reason", "decode_error")))] == 1  # fmt: skip  # noqa: E501
        assert got[("spark_enrich_freshness_p50_seconds", pe)] == 5
        assert got[("spark_enrich_freshness_p99_seconds", pe)] == 9
        lag = (("partition", "0"), ("pipeline", "demo"), ("source", "events"), ("topic", "clicks"))
        assert got[("spark_enrich_source_lag_offsets", lag)] == 7
        assert got[("spark_enrich_source_lag_offsets_all", (("pipeline", "demo"), ("source", "events")))] == 10  # fmt: skip  # noqa: E501
        sink.lag("demo", SourceLag("events", {"clicks-0": 0, "clicks-1": 0}))
        got = _scrape(sink.port)
        assert got[("spark_enrich_source_lag_offsets_all", (("pipeline", "demo"), ("source", "events")))] == 0  # fmt: skip  # noqa: E501
    finally:
        sink.stop()


def test_the_table_rows_of_a_report_sum_to_its_totals() -> None:
    report = _report()
    rows = [dict(zip(METRICS_SCHEMA.fieldNames(), r, strict=True)) for r in metrics_rows(report, COMMIT)]  # fmt: skip  # noqa: E501
    assert [r["executor"] for r in rows] == [None, "clicks", "views"]

    def total(name: str) -> int:
        return sum(r[name] for r in rows if r[name] is not None)

    assert total("output") == report.output == 6
    assert total("dead_lettered") == report.dead_lettered == 2
    assert total("source_rows") == 10
    assert rows[1]["freshness_ms"] == 2000 and rows[1]["freshness_p99_ms"] == 9000
