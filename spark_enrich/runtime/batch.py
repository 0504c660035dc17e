"""Batch runtime: read a source in full or for a date range and process it as one batch."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from spark_enrich.accounting import RunReport
from spark_enrich.delta_commit import Txn
from spark_enrich.process import process_batch
from spark_enrich.sources import delta_version, read_batch

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

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
    config = plan.config
    batch_cfg = config.runtime.batch
    src = config.source(source or (batch_cfg.source if batch_cfg else config.sources[0].name))
    version = table_id = None
    if src.kind == "delta" and src.path:
        version = delta_version(plan.spark, src.path)
        table_id = _table_id(plan.spark, src.path)
    envelope = read_batch(
        plan.spark,
        src,
        start=start,
        end=end,
        date_column=batch_cfg.date_column if batch_cfg else None,
        version=version,
    )
    txn = None
    if version is not None:
        # Delta skips a commit whose txn version is not above the last one of its app id, so the
        # app id names the source table itself (its Delta id, new when the table is recreated):
        # a recreated source restarts at version 0 and must not be skipped as already written.
        txn = Txn(f"spark-enrich:{config.name}:batch:{src.name}:{table_id}:{start}:{end}", version)
    report = process_batch(plan, envelope, batch_id=0, txn=txn, write=write)
    return RunReport(config.name, plan.run_id, [report])


def _table_id(spark: SparkSession, path: str) -> str:
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, path).detail().select("id").first()
    return str(row[0]) if row is not None else path
