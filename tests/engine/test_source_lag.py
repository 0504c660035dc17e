"""The source lag read from a stream's progress: Kafka offsets behind the latest per
topic-partition, Delta versions behind; nothing when Spark did not report the latest offset.
The progress is as pyspark hands it to a listener (offsets as JSON text). No Spark."""

from __future__ import annotations

import json

from spark_enrich.accounting import SourceLag
from spark_enrich.metrics.lag import source_lag


def _progress(end: object, latest: object) -> dict[str, str]:
    return {"endOffset": json.dumps(end), "latestOffset": json.dumps(latest)}


def test_kafka_lag_per_topic_partition_and_in_total() -> None:
    end = {"clicks": {"1": 40, "0": 10}, "views": {"0": 5}}
    latest = {"clicks": {"0": 17, "1": 40}, "views": {"0": 8, "1": 3}}  # views-1 is new
    lag = source_lag("events", _progress(end, latest))
    assert lag == SourceLag("events", {"clicks-0": 7, "clicks-1": 0, "views-0": 3})
    assert lag.total_offsets == 10


def test_delta_lag_in_versions_not_read_in_full() -> None:
    # Delta reports no latest offset: the table's latest version comes from its log.
    def end(version: int, index: int) -> dict[str, str]:
        offset = {"sourceVersion": 1, "reservoirId": "x", "reservoirVersion": version,
                  "index": index, "isStartingVersion": False}  # fmt: skip
        return {"endOffset": json.dumps(offset), "latestOffset": "None"}

    assert source_lag("archive", end(5, -1), latest_version=4) == SourceLag("archive", versions=0)
    assert source_lag("archive", end(3, -1), latest_version=7) == SourceLag("archive", versions=5)
    assert source_lag("archive", end(3, 2), latest_version=3) == SourceLag("archive", versions=1)
    assert source_lag("archive", end(3, -1)) is None
    assert SourceLag("archive", versions=5).total_offsets is None


def test_no_latest_offset_reported_is_no_lag() -> None:
    for latest in ("None", "null", ""):
        progress = {"endOffset": json.dumps({"t": {"0": 1}}), "latestOffset": latest}
        assert source_lag("events", progress) is None
    assert source_lag("events", {}) is None
