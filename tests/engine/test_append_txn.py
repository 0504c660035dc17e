"""Sink and dead-letter writes are idempotent per transaction id: the same (app id, version)
commits once, and the batch report counts only what really was written."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession
from support.engine import build_config, config_dict, envelope, raw, registry_with

from spark_enrich import Pipeline
from spark_enrich.delta_commit import Txn
from spark_enrich.plan import CompiledPipeline
from spark_enrich.process import process_batch


def _plan(spark: SparkSession, base: Path, mode: str) -> CompiledPipeline:
    registry = registry_with()
    config = build_config(config_dict(base, ["clicks"], mode=mode), registry)
    return Pipeline(config, spark=spark, registry=registry).plan


def test_same_txn_twice_appends_once_and_a_new_version_appends_again(
    spark: SparkSession, tmp_path: Path
) -> None:
    plan = _plan(spark, tmp_path, "append")
    events = envelope(spark, [raw("a1", x="a"), raw("a2", x="b")])

    first = process_batch(plan, events, batch_id=3, txn=Txn("append-test", 3))
    again = process_batch(plan, events, batch_id=3, txn=Txn("append-test", 3))
    assert (first.sink_rows_added, again.sink_rows_added) == (2, 0)
    assert plan.sink.read(spark).count() == 2

    # Append does not dedupe by key: only the transaction id kept the copy out above.
    later = process_batch(plan, events, batch_id=4, txn=Txn("append-test", 4))
    assert later.sink_rows_added == 2
    assert plan.sink.read(spark).count() == 4


def test_merge_counts_what_it_inserted_and_nothing_on_a_replayed_txn(
    spark: SparkSession, tmp_path: Path
) -> None:
    plan = _plan(spark, tmp_path, "merge")
    events = envelope(spark, [raw("m1"), raw("m2"), raw("m2"), "not json", "[1]"])

    first = process_batch(plan, events, batch_id=7, txn=Txn("merge-test", 7))
    replay = process_batch(plan, events, batch_id=7, txn=Txn("merge-test", 7))
    assert (first.sink_rows_added, first.dead_letters_written) == (2, 2)
    # Delta skipped both commits: the report must not claim rows (a history look-up could).
    assert (replay.sink_rows_added, replay.dead_letters_written) == (0, 0)

    more = envelope(spark, [raw("m2"), raw("m3"), "not json"])
    later = process_batch(plan, more, batch_id=8, txn=Txn("merge-test", 8))
    assert (later.sink_rows_added, later.dead_letters_written) == (1, 0)
    assert sorted(r.event_id for r in plan.sink.read(spark).collect()) == ["m1", "m2", "m3"]
    assert plan.dead_letters.read(spark).count() == 2
