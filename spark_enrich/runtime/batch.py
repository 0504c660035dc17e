"""Batch runtime: read a source in full or for a date range and process it as one batch."""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING

from spark_enrich.accounting import RunReport
from spark_enrich.delta_commit import Txn
from spark_enrich.policy import NORMAL, DryRun
from spark_enrich.process import process_batch

if TYPE_CHECKING:
    from spark_enrich.plan import CompiledPipeline


def run_batch(
    plan: CompiledPipeline,
    *,
    source: str | None = None,
    start: date | None = None,
    end: date | None = None,
    write: bool = True,
) -> RunReport:
    """Process the batch source (``runtime.batch.source`` unless named) once.

    For a Delta source the commits carry an idempotency id made of the pipeline, the source
    table (its Delta id), the range and the table's version, so re-running on an unchanged
    source writes nothing twice even in ``append`` mode; ``merge`` mode is idempotent by key in
    any case.
    """
    read_started = time.perf_counter()
    config = plan.config
    if plan.snapshots is not None:
        plan.snapshots.expire()  # a new run joins the tables as they are now
    src = plan.source(source)
    snapshot = src.snapshot(plan.spark)
    envelope = src.read_batch(
        plan.spark, start=start, end=end, version=snapshot.version if snapshot else None
    )
    txn = None
    if snapshot is not None:
        # Delta skips a commit whose txn version is not above the last one of its app id, so the
        # app id names the source table itself (its Delta id, new when the table is recreated):
        # a recreated source restarts at version 0 and must not be skipped as already written.
        app_id = f"spark-enrich:{config.name}:batch:{src.name}:{snapshot.table_id}:{start}:{end}"
        txn = Txn(app_id, snapshot.version)
    policy = NORMAL if write else DryRun()
    report = process_batch(
        plan, envelope, batch_id=0, txn=txn, policy=policy, read_started=read_started
    )
    return RunReport(config.name, plan.run_id, [report])
