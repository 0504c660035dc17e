"""A running stream's source lag, live: the Prometheus endpoint, scraped over loopback and parsed
with prometheus-client's own text-format parser, shows the lag rising while events arrive faster
than the stream takes them (a few offsets or files per trigger) and falling to 0 once it caught
up; its per-executor counters equal the rows in the sink; the metrics table carries the lag.

Polls with deadlines: no sleep stands for an assertion, no timing is asserted."""

from __future__ import annotations

import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from support.corpus import Case, event, js
from support.deadletters import produce, registry, write_archive, write_pipeline
from support.runtime import wait_for

from spark_enrich import Pipeline
from spark_enrich.metrics import AllMetrics, PrometheusMetrics
from spark_enrich.runtime.stream import StreamRun, await_stream, start_stream
from spark_enrich.testing.kafka import LocalKafkaBroker

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
TIMEOUT = 300.0


def _pipeline(spark: SparkSession, folder: Path, sets: list[str], **kafka: str) -> Pipeline:
    path = write_pipeline(folder, **kafka)
    sets = [
        "observability.metrics=[{kind: prometheus, port: 0}, "
        f"{{kind: delta, path: {folder / 'metrics'}}}]",
        "runtime.stream.trigger={kind: processing_time, interval: 100ms}",
        *sets,
    ]
    return Pipeline.from_yaml(path, spark=spark, registry=registry(fixed=True), overrides=sets)


def _endpoint(pipeline: Pipeline) -> PrometheusMetrics:
    metrics = pipeline.plan.metrics
    assert isinstance(metrics, AllMetrics)
    found = metrics.find(PrometheusMetrics)
    assert isinstance(found, PrometheusMetrics)
    return found


def _scrape(endpoint: PrometheusMetrics) -> Samples:
    """Every sample the endpoint serves now (none before it started)."""
    if endpoint.port is None:
        return {}
    url = f"http://127.0.0.1:{endpoint.port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _sum(samples: Samples, name: str, **labels: str) -> float:
    """``name``'s samples with ``labels`` (among others), summed."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def _stop(run: StreamRun) -> None:
    run.stop_requested.set()
    await_stream(run, handle_signals=False)


def _events(prefix: str, n: int) -> list[Case]:
    """``n`` events: clicks and views, and every fifth a bot click (filtered)."""
    cases = []
    for i in range(n):
        kind = "pin_view" if i % 2 else "pin_click"
        pin = "bot" if i % 5 == 4 and kind == "pin_click" else "p1"
        cases.append(Case(js(event(f"{prefix}-{i}", event_type=kind, pin_id=pin)), "", ""))
    return cases


@pytest.mark.kafka
def test_kafka_lag_rises_while_events_arrive_faster_and_falls_to_zero(
    spark: SparkSession, kafka_broker: LocalKafkaBroker, tmp_path: Path
) -> None:
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=2)
    pipeline = _pipeline(
        spark,
        tmp_path,
        ["sources.events.max_offsets_per_trigger=4"],
        bootstrap=kafka_broker.bootstrap_servers,
        topic=topic,
    )
    endpoint = _endpoint(pipeline)
    lag_all = ("spark_enrich_source_lag_offsets_all", (("pipeline", "hostile"), ("source", "events")))  # fmt: skip  # noqa: E501
    first, second = _events("a", 4), _events("b", 20)
    produce(kafka_broker.bootstrap_servers, topic, first)
    run = start_stream(pipeline.plan, source="events")
    seen: list[float] = []
    try:

        def lag_is(wanted: str, events: int) -> bool:
            got = _scrape(endpoint)
            if lag_all in got:
                seen.append(got[lag_all])
            done = _sum(got, "spark_enrich_source_events_total") >= events
            lag = got.get(lag_all)
            return lag is not None and (lag > 0 if wanted == "behind" else lag == 0 and done)

        # Caught up with the first events: no lag.
        wait_for(lambda: lag_is("caught up", 4), timeout=TIMEOUT, what="the first events")
        caught_up = len(seen)
        # Five times what a trigger takes, at once: the stream falls behind, then catches up.
        produce(kafka_broker.bootstrap_servers, topic, second)
        wait_for(lambda: lag_is("behind", 4), timeout=TIMEOUT, what="lag", interval=0.05)
        wait_for(lambda: lag_is("caught up", 24), timeout=TIMEOUT, what="the stream to catch up")
    finally:
        _stop(run)
    assert seen[caught_up - 1] == 0 and max(seen[caught_up:]) > 0 and seen[-1] == 0
    # Per partition, the lag is 0 on each.
    final = _scrape(endpoint)
    partitions = {ls: v for (n, ls), v in final.items() if n == "spark_enrich_source_lag_offsets"}
    assert sorted(dict(ls)["partition"] for ls in partitions) == ["0", "1"]
    assert set(partitions.values()) == {0}
    # The counters per executor equal the rows in the sink.
    sink = Counter({r[0]: r[1] for r in pipeline.output().groupBy("_executor").count().collect()})
    assert sink == {"clicks": 10, "views": 12}  # 24 events, 2 bot clicks filtered
    for name, rows in sink.items():
        assert _sum(final, "spark_enrich_output_events_total", executor=name) == rows
    assert _sum(final, "spark_enrich_filtered_events_total", executor="clicks") == 2
    assert _sum(final, "spark_enrich_input_events_total") == 24
    # The metrics table carries the lag of each micro-batch after the first (as last reported).
    metrics = spark.read.format("delta").load(str(tmp_path / "metrics"))
    lags = metrics.where(F.col("executor").isNull()).select("batch_id", "lag_offsets").collect()
    assert max(r["lag_offsets"] or 0 for r in lags) > 0
    assert all(r["lag_offsets"] is not None for r in lags if r["batch_id"] > 0)


def test_delta_lag_counts_versions_behind_and_falls_to_zero(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_archive(spark, tmp_path, [js(event("v0"))])
    pipeline = _pipeline(spark, tmp_path, ["sources.archive.max_files_per_trigger=1"])
    endpoint = _endpoint(pipeline)
    versions = ("spark_enrich_source_lag_versions", (("pipeline", "hostile"), ("source", "archive")))  # fmt: skip  # noqa: E501
    pipeline.run_stream(source="archive", available_now=True)
    assert _scrape(endpoint)[versions] == 0
    # Four versions of one file each while the stream is stopped; it resumes one file per
    # trigger: three versions behind after its first trigger, then two, one, none.
    for i in range(1, 5):
        frame = spark.createDataFrame([(bytearray(js(event(f"v{i}"))),)], "value BINARY")
        frame.write.format("delta").mode("append").save(str(tmp_path / "raw"))
    seen: list[float] = []

    def caught_up() -> bool:
        value = _scrape(endpoint)[versions]
        seen.append(value)
        return value == 0 and len(seen) > 1 and max(seen) > 0

    run = start_stream(pipeline.plan, source="archive")
    try:
        wait_for(caught_up, timeout=TIMEOUT, what="the stream to catch up", interval=0.05)
    finally:
        _stop(run)
    assert pipeline.output().count() == 5
