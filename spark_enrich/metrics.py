"""Where batch reports go: the log (one JSON line per batch), a Delta table, or nowhere."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spark_enrich.accounting import BatchReport
from spark_enrich.delta_commit import with_conflict_retry

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("spark_enrich.metrics")


@dataclass(frozen=True)
class MetricsSink:
    """Emits one record per batch. ``kind`` is ``log``, ``delta`` (with ``path``) or ``none``."""

    kind: str = "log"
    path: str | None = None

    def emit(self, spark: SparkSession, report: BatchReport) -> None:
        """Record ``report``; a metrics failure is logged, never fails the pipeline."""
        if self.kind == "none":
            return
        if self.kind == "log":
            log.info("batch %s", report.to_json())
            return
        try:
            record = {**report.to_dict(), "executors": json.dumps(report.to_dict()["executors"])}
            record["decode_dead_lettered"] = json.dumps(report.decode_dead_lettered)
            frame = spark.createDataFrame([record])
            writer = frame.write.format("delta").mode("append").option("mergeSchema", "true")
            with_conflict_retry(lambda: writer.save(str(self.path)), what="metrics append")
        except Exception:  # metrics must never stop the data path
            log.exception("could not write metrics to %s", self.path)
