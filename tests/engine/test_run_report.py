"""A run's report keeps exact totals over every batch while listing only the latest ones (a
stream runs for months; its driver must not keep a report per micro-batch forever)."""

from __future__ import annotations

import pytest

from spark_enrich.accounting import BatchReport, ExecutorCounts, RunReport


def _batch(batch_id: int) -> BatchReport:
    report = BatchReport("demo", "run", batch_id, source_rows=10 + batch_id, routed=10 + batch_id)
    report.executors = [
        ExecutorCounts("clicks", "1", 6 + batch_id, 1, 5 + batch_id, 0),
        ExecutorCounts("views", "1", 4, 0, 3, 1),
    ]
    report.sink_rows_added = 8 + batch_id
    report.decode_dead_lettered = {"decode_error": 1} if batch_id % 2 else {}
    return report


def test_totals_cover_folded_batches_and_only_the_latest_are_listed() -> None:
    everything = RunReport("demo", "run")
    bounded = RunReport("demo", "run")
    for batch_id in range(25):
        everything.add(_batch(batch_id))
        bounded.add(_batch(batch_id), keep=10)

    assert [b.batch_id for b in bounded.batches] == list(range(15, 25))
    assert bounded.folded == 15
    for attribute in ("source_rows", "output", "filtered", "dead_lettered", "sink_rows_added"):
        assert bounded.total(attribute) == everything.total(attribute), attribute
    assert bounded.by_executor() == everything.by_executor()
    assert bounded.by_executor()["clicks"].input == sum(6 + i for i in range(25))
    assert bounded.batch_count == 25
    assert (
        bounded.decode_dead_lettered() == everything.decode_dead_lettered() == {"decode_error": 12}
    )


def test_a_count_without_a_running_total_is_refused_once_batches_are_folded() -> None:
    report = RunReport("demo", "run")
    for batch_id in range(3):
        report.add(_batch(batch_id), keep=2)
    with pytest.raises(KeyError, match="batch_id"):
        report.total("batch_id")
