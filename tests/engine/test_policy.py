"""Batch policies as values: what each one asks of conforming and writing a batch. (How a batch
behaves under them end to end is in test_pipeline_run, test_executor_failures, the backfill and
replay tests.)"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame

from spark_enrich.conform import ContractColumn, OutputContract
from spark_enrich.executing import Conformance
from spark_enrich.policy import NORMAL, DryRun, ReplaceRange, Replay
from spark_enrich.sequence import SequenceFold
from spark_enrich.sink import AppendSink, DateRange, MergeSink, SequenceSink
from spark_enrich.tables import TableRef

CONTRACT = OutputContract(
    columns=(
        ContractColumn("event_id", "string", False),
        ContractColumn("user_id", "string", False),
        ContractColumn("event_date", "date", False),
    ),
    key=("event_id",),
)
DAY = DateRange("event_date", date(2026, 1, 5), date(2026, 1, 6))
RANGE = "`event_date` >= '2026-01-05' AND `event_date` < '2026-01-06'"


TABLE = TableRef(path="/out")


def _ignore(letters: DataFrame) -> None:
    """A replay's dead-letter listener that keeps nothing."""


def test_normal_writes_as_configured_with_the_plain_contract() -> None:
    sink = AppendSink(TABLE, CONTRACT)

    assert NORMAL.writes and NORMAL.replace is None
    assert NORMAL.conformance(CONTRACT) == Conformance(CONTRACT)
    assert NORMAL.max_share(0.1) == 0.1
    assert NORMAL.sink(sink) is sink


def test_a_dry_run_writes_nothing_and_conforms_as_normal() -> None:
    assert not DryRun().writes
    assert DryRun().replace is None
    assert DryRun().conformance(CONTRACT) == Conformance(CONTRACT)


def test_a_strict_range_makes_output_of_other_days_a_contract_violation() -> None:
    policy = ReplaceRange(DAY)

    assert policy.writes and policy.replace == DAY
    assert policy.conformance(CONTRACT) == Conformance(
        CONTRACT, (RANGE, "event_date outside the backfill range [2026-01-05, 2026-01-06)")
    )
    assert policy.max_share(0.1) == 0.1


def test_a_range_skipping_outside_days_scopes_output_and_dead_letters_only_undated_rows() -> None:
    policy = ReplaceRange(DAY, skip_outside_days=True)

    assert policy.conformance(CONTRACT) == Conformance(
        CONTRACT, (f"({RANGE}) IS NOT NULL", "event_date is null"), scope=RANGE
    )


def test_a_replay_inserts_only_new_keys_and_has_no_dead_letter_threshold() -> None:
    policy = Replay(_ignore)
    fold = SequenceFold(("user_id",), ("event_date",), 10, "events", ("event_id",))

    assert policy.writes and policy.replace is None
    assert policy.max_share(0.1) is None
    assert policy.sink(AppendSink(TABLE, CONTRACT)) == MergeSink(TABLE, CONTRACT)
    merge = MergeSink(TABLE, CONTRACT)
    assert policy.sink(merge) is merge
    sequence = SequenceSink(TABLE, CONTRACT, fold=fold)
    assert policy.sink(sequence) is sequence  # a sequence sink folds as always
    assert policy.conformance(CONTRACT) == Conformance(CONTRACT)
