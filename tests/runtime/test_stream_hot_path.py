"""Issue #19 item 3: a stream's micro-batches after the first one of a run read no Delta
history and make no retry look-up, and a clean micro-batch writes no dead letters. Checked by
behaviour, from Spark's own SQL listener (the executions each micro-batch ran), not by time."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from support.jobs import sql_executions
from support.runtime import Layout, demo_pipeline, event, overrides, produce

from spark_enrich.testing.kafka import LocalKafkaBroker

pytestmark = pytest.mark.kafka

# Delta's ``DeltaTable.history()`` is a local relation of the history's columns: reading a
# table's version or a commit's operation metrics scans it.
# (The offline tables' snapshots read their versions too, every ``refresh``: 5 minutes.)
HISTORY_READ = re.compile(r"LocalTableScan\s+Output \[\d+\]: \[version#")


def test_micro_batches_after_the_first_read_no_history_and_write_no_empty_dead_letters(
    spark: SparkSession,
    demo_data: Path,
    kafka_broker: LocalKafkaBroker,
    topic_pair: tuple[str, str],
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path / "out")
    bootstrap = kafka_broker.bootstrap_servers
    # Three or more micro-batches in one run: 10 offsets per trigger over 30 events.
    sets = overrides(
        layout, topic_pair, mode="append", max_offsets=10, extra=["sink.dedup={window: 1h}"]
    )
    pipeline = demo_pipeline(spark, demo_data, bootstrap, sets)
    produce(bootstrap, topic_pair[0], [event(i) for i in range(30)])
    before = max((e[0] for e in sql_executions(spark)), default=-1)

    report = pipeline.run_stream(available_now=True)

    by_batch: dict[int, list[str]] = defaultdict(list)
    for _, description, plan in sql_executions(spark, after=before):
        found = re.search(r"batch = (\d+)", description)
        if found is not None:
            by_batch[int(found.group(1))].append(plan)
    batch_ids = sorted(by_batch)
    assert batch_ids[0] == 0 and len(batch_ids) >= 3  # offsets split unevenly by partition
    # The first micro-batch of a run may be a retry: it counts its rows from the history
    # (this also shows that the pattern finds a history read).
    assert [p for p in by_batch[0] if HISTORY_READ.search(p)]
    for batch_id in batch_ids[1:]:  # not the first of the run: known not to be a retry
        assert not [p for p in by_batch[batch_id] if HISTORY_READ.search(p)], batch_id
    # Counted while written, the same as the executors' output, every micro-batch.
    assert [b.sink_rows_added for b in report.batches] == [b.output for b in report.batches]
    assert report.total("sink_rows_added") == 30 == pipeline.output().count()
    # No dead letter in any micro-batch: no write, so not even an empty table.
    assert not layout.dead_letters.exists()
