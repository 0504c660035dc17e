"""The sequences pipeline (pipelines/sequences.yaml) with an online store, fed by an enriched
table that grows in thirds: what the tests of tests/online share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from spark_enrich import Pipeline
from spark_enrich.online.parity import check_online
from spark_enrich.online.publish import OnlineSequences
from spark_enrich.sink import SequenceSink

REPO = Path(__file__).resolve().parents[2]
QUIET = ["observability.metrics.kind=none", "dead_letters.max_share=0.5"]


@dataclass
class Feed:
    """A folder whose ``enriched`` table grows by one third of the demo's enriched events."""

    base: Path
    thirds: list[DataFrame]

    def grow(self, third: int) -> None:
        self.thirds[third].write.format("delta").mode("append").save(str(self.base / "enriched"))


def sequences(
    spark: SparkSession, base: Path, url: str, prefix: str, *, retries: int = 3
) -> Pipeline:
    """The sequences pipeline over ``base/enriched``, 4 events a user, writing to ``url``."""
    return Pipeline.from_yaml(
        REPO / "pipelines" / "sequences.yaml",
        env={"SPARK_ENRICH_DEMO_DIR": str(base)},
        overrides=[
            *QUIET,
            "sink.sequence.length=4",
            f"sink.online.url={url}",
            f"sink.online.key_prefix='{prefix}'",
            f"sink.online.retries={retries}",
            "sink.online.batch_size=7",
        ],
        spark=spark,
    )


def online_of(pipeline: Pipeline) -> OnlineSequences:
    """The pipeline's compiled online store."""
    sink = pipeline.plan.sink
    assert isinstance(sink, SequenceSink)
    online = sink.online
    assert online is not None
    return online


def assert_parity(pipeline: Pipeline) -> int:
    """The store holds exactly the Delta table's sequences; return the groups checked."""
    plan = pipeline.plan
    report = check_online(plan.spark, online_of(pipeline), plan.sink.table)
    assert report.ok, report.summary()
    assert report.checked == pipeline.output().count()
    return report.checked
