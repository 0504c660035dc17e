"""Append mode is idempotent per transaction id: the same (app id, version) commits once."""

from __future__ import annotations

from pathlib import Path

from engine_kit import build_config, config_dict, envelope, raw, registry_with
from pyspark.sql import SparkSession

from spark_enrich import Pipeline
from spark_enrich.delta_commit import Txn
from spark_enrich.process import process_batch


def test_same_txn_twice_appends_once_and_a_new_version_appends_again(
    spark: SparkSession, tmp_path: Path
) -> None:
    registry = registry_with()
    config = build_config(config_dict(tmp_path, ["clicks"], mode="append"), registry)
    plan = Pipeline(config, spark=spark, registry=registry).plan
    events = envelope(spark, [raw("a1", x="a"), raw("a2", x="b")])

    first = process_batch(plan, events, batch_id=3, txn=Txn("append-test", 3))
    again = process_batch(plan, events, batch_id=3, txn=Txn("append-test", 3))
    assert (first.sink_rows_added, again.sink_rows_added) == (2, 0)
    assert plan.sink.read(spark).count() == 2

    # Append does not dedupe by key: only the transaction id kept the copy out above.
    later = process_batch(plan, events, batch_id=4, txn=Txn("append-test", 4))
    assert later.sink_rows_added == 2
    assert plan.sink.read(spark).count() == 4
