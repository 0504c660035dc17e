"""What the parity tests share: the shipped pipelines over a folder of demo tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession

from spark_enrich import Pipeline

REPO = Path(__file__).resolve().parents[2]
PIPELINES = REPO / "pipelines"
QUIET = ["observability.metrics.kind=none"]


@dataclass(frozen=True)
class DemoData:
    """A folder holding the demo's tables, for ``SPARK_ENRICH_DEMO_DIR``."""

    folder: Path

    def pipeline(self, spark: SparkSession, name: str, *overrides: str) -> Pipeline:
        return Pipeline.from_yaml(
            PIPELINES / f"{name}.yaml",
            env={"SPARK_ENRICH_DEMO_DIR": str(self.folder)},
            overrides=[*QUIET, *overrides],
            spark=spark,
        )
