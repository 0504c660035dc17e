"""``spark-enrich parity --runtimes``: the same events through the stream path and through
the batch path, each into its own sink and dead-letter table, compared executor by executor
and dead letter by dead letter.

The sample is ``N`` rows of the batch source (a Delta table). The batch path reads them from a
Delta copy in one batch. The stream path gets them in three rounds (a sixth, a third, a half),
each drained by an available-now run from the checkpoint of the last: through a new topic of a
Kafka broker when the pipeline has a Kafka source (at most 5, 17 and 50 records per
micro-batch), else as three commits to a Delta table the stream follows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import Window
from pyspark.sql import functions as F

from spark_enrich.columns import DEAD_LETTER_DDL, EXECUTOR_COL
from spark_enrich.errors import PipelineRunError
from spark_enrich.parity.diff import diff_frames
from spark_enrich.parity.recompute import ParityReport, compare_by_executor
from spark_enrich.parity.report import DiffReport

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from spark_enrich.pipeline import Pipeline
    from spark_enrich.sources.kafka import KafkaSource
    from spark_enrich.sources.tables import DeltaSource

STREAM, BATCH = "stream", "batch"
ROUNDS = ((1, 5), (2, 17), (3, 50))
"""(share of the sample in sixths, Kafka max_offsets_per_trigger) of each round."""
DEAD_LETTER_KEY = ("reason", "executor", "executor_version", "event_type", "raw_payload")
"""What a dead letter is compared by (ids, times and source coordinates differ by runtime)."""
_N = "_parity_n"


@dataclass(frozen=True)
class RuntimeSetup:
    """How to build the pipeline on other paths: its file, ``--set`` values, environment."""

    path: Path
    overrides: Sequence[str]
    env: Mapping[str, str]
    spark: SparkSession

    def pipeline(self, *extra: str) -> Pipeline:
        """The pipeline with ``extra`` ``--set`` values after the given ones."""
        from spark_enrich.pipeline import Pipeline

        sets = [*self.overrides, *extra]
        return Pipeline.from_yaml(self.path, overrides=sets, env=self.env, spark=self.spark)


def _sources(pipeline: Pipeline) -> tuple[KafkaSource | None, DeltaSource]:
    from spark_enrich.sources.kafka import KafkaSource
    from spark_enrich.sources.tables import DeltaSource

    plan = pipeline.plan
    kafka = next((s for s in plan.sources.values() if isinstance(s, KafkaSource)), None)
    archive = plan.source()
    if not isinstance(archive, DeltaSource) or archive.table.path is None:
        raise PipelineRunError(
            "PARITY_NEEDS_DELTA_SOURCE",
            f"Pipeline {plan.name!r}: parity --runtimes samples the batch source "
            f"({archive.name!r}), which must be a delta source with a path.",
            {"pipeline": plan.name, "source": archive.name},
        )
    return kafka, archive


def _dead_letters(frame: DataFrame) -> DataFrame:
    """Dead letters keyed by what went wrong to which payload, numbered when repeated."""
    content = [
        F.coalesce(F.col(c).cast("string"), F.lit("")).alias(c)
        if c != "raw_payload"
        else F.coalesce(F.col(c), F.lit(b"")).alias(c)
        for c in DEAD_LETTER_KEY
    ]
    nth = F.row_number().over(Window.partitionBy(*DEAD_LETTER_KEY).orderBy(*DEAD_LETTER_KEY))
    return frame.select(*content).withColumn("occurrence", nth)


def _rounds(rows: DataFrame) -> list[tuple[DataFrame, int]]:
    """The sample in three parts (a sixth, a third, the rest), each with its Kafka cap."""
    total = rows.count()
    numbered = rows.withColumn(_N, F.row_number().over(Window.orderBy(F.xxhash64(*rows.columns))))
    parts, done = [], 0
    for sixths, cap in ROUNDS:
        upto = total if sixths == 3 else done + total * sixths // 6
        part = numbered.where((F.col(_N) > done) & (F.col(_N) <= upto)).drop(_N)
        parts.append((part, cap))
        done = upto
    return parts


def _stream_sets(work: Path) -> list[str]:
    return [
        f"sink.path={work / 'stream' / 'sink'}",
        f"dead_letters.path={work / 'stream' / 'dead_letters'}",
        f"runtime.stream.checkpoint={work / 'stream' / 'checkpoint'}",
        "runtime.stream.trigger={kind: available_now}",
    ]


def _kafka_path(
    setup: RuntimeSetup, kafka: KafkaSource, archive: DeltaSource, rows: DataFrame, work: Path,
    bootstrap: str,
) -> Pipeline:  # fmt: skip
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    from spark_enrich.demo.generate import produce_to_kafka

    topic = f"parity-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, 3, 1)]).values():
        future.result(timeout=60)
    sets = [
        *_stream_sets(work),
        f"sources.{kafka.name}.topics=[{topic}]",
        f"sources.{kafka.name}.starting_offsets=earliest",
        f"sources.{kafka.name}.bootstrap_servers={bootstrap}",
    ]
    assert archive.payload_column is not None  # checked by the caller
    key = F.col(archive.key_column).cast("string") if archive.key_column else F.lit(None)
    pipeline = None
    for part, cap in _rounds(rows):
        records = part.select(
            F.lit(topic).alias("topic"),
            key.cast("string").alias("key"),
            F.col(archive.payload_column).cast("string").alias("value"),
        )
        produce_to_kafka(records, bootstrap)
        pipeline = setup.pipeline(*sets, f"sources.{kafka.name}.max_offsets_per_trigger={cap}")
        pipeline.run_stream(source=kafka.name, available_now=True)
    assert pipeline is not None
    return pipeline


def _delta_path(setup: RuntimeSetup, archive: DeltaSource, rows: DataFrame, work: Path) -> Pipeline:
    followed = work / "stream" / "source"
    sets = [*_stream_sets(work), f"sources.{archive.name}.path={followed}"]
    pipeline = None
    for part, _ in _rounds(rows):
        part.write.format("delta").mode("append").save(str(followed))
        pipeline = setup.pipeline(*sets)
        pipeline.run_stream(source=archive.name, available_now=True)
    assert pipeline is not None
    return pipeline


def _stream(
    setup: RuntimeSetup, sources: tuple[KafkaSource | None, DeltaSource], rows: DataFrame,
    work: Path, bootstrap: str | None,
) -> Pipeline:  # fmt: skip
    from spark_enrich.testing.kafka import LocalKafkaBroker

    kafka, archive = sources
    if kafka is None or archive.payload_column is None:
        return _delta_path(setup, archive, rows, work)
    if bootstrap is not None:
        return _kafka_path(setup, kafka, archive, rows, work, bootstrap)
    with LocalKafkaBroker.start(work / "kafka") as broker:
        return _kafka_path(setup, kafka, archive, rows, work, broker.bootstrap_servers)


def _table(read: Callable[[], DataFrame], spark: SparkSession, ddl: str) -> DataFrame:
    """A table the run may not have created (no row went there): empty then."""
    from pyspark.errors import AnalysisException

    try:
        return read()
    except AnalysisException:
        return spark.createDataFrame([], ddl)


def parity_runtimes(
    setup: RuntimeSetup, work: Path, *, sample: int = 1000, bootstrap: str | None = None
) -> ParityReport:
    """Run ``sample`` events of the batch source through both runtimes and compare.

    The Kafka path uses the broker at ``bootstrap`` (a new topic), else a local broker
    started under ``work`` for the run; everything written goes under ``work``. A ``sequence``
    sink is replaced by an ``append`` sink of the event rows (the fold is the sink's own).

    Raises:
        PipelineRunError: ``PARITY_NEEDS_DELTA_SOURCE`` when the batch source is not a Delta
            table with a path.
    """
    from spark_enrich.materialize import materialize
    from spark_enrich.sink import SequenceSink

    base = setup.pipeline()
    if isinstance(base.plan.sink, SequenceSink):
        setup = RuntimeSetup(
            setup.path, [*setup.overrides, "sink.mode=append", "sink.sequence=null"],
            setup.env, setup.spark,
        )  # fmt: skip
        base = setup.pipeline()
    sources = _sources(base)
    archive = sources[1]
    assert archive.table.path is not None  # checked by _sources
    rows = materialize(setup.spark.read.format("delta").load(archive.table.path).limit(sample))
    rows.write.format("delta").save(str(work / "archive"))
    streamed = _stream(setup, sources, rows, work, bootstrap)
    batched = setup.pipeline(
        f"sources.{archive.name}.path={work / 'archive'}",
        f"sink.path={work / 'batch' / 'sink'}",
        f"dead_letters.path={work / 'batch' / 'dead_letters'}",
    )
    batched.run_batch(source=archive.name)
    return _compare(base, streamed, batched, rows.count())


def _compare(base: Pipeline, streamed: Pipeline, batched: Pipeline, events: int) -> ParityReport:
    spark = base.spark
    letters: dict[str, DiffReport] = {
        "dead letters": diff_frames(
            _dead_letters(_table(streamed.dead_letters, spark, DEAD_LETTER_DDL)),
            _dead_letters(_table(batched.dead_letters, spark, DEAD_LETTER_DDL)),
            [*DEAD_LETTER_KEY, "occurrence"],
        )
    }
    output_ddl = f"{base.plan.contract.ddl()}, {EXECUTOR_COL} STRING"
    return ParityReport(
        base.config.name,
        f"runtimes on {events} events",
        STREAM,
        BATCH,
        compare_by_executor(
            base,
            _table(streamed.output, spark, output_ddl),
            _table(batched.output, spark, output_ddl),
        ),
        letters,
    )
