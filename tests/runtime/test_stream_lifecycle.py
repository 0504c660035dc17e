"""Stream lifecycle in-process: a checkpoint written for other sources is refused; one
pipeline's Delta output streams into another; a Kafka broker restart mid-stream loses nothing."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.registry import isolated_registry
from support.runtime import DEMO_YAML, Layout, demo_pipeline, event, overrides, produce, wait_for
from typer.testing import CliRunner

from spark_enrich import Executor, executor
from spark_enrich.cli.app import EXIT_RUN_FAILED, app
from spark_enrich.errors import PipelineRunError
from spark_enrich.pipeline import Pipeline
from spark_enrich.registry import ExecutorRegistry
from spark_enrich.runtime.stream import await_stream, start_stream
from spark_enrich.testing.kafka import LocalKafkaBroker

pytestmark = pytest.mark.kafka


def keys(df: DataFrame) -> list[str]:
    return sorted(r["event_id"] for r in df.select("event_id").collect())


def test_checkpoint_of_other_sources_is_refused_with_a_clear_message(
    spark: SparkSession,
    demo_data: Path,
    kafka_broker: LocalKafkaBroker,
    topic_pair: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layout = Layout(tmp_path)
    bootstrap = kafka_broker.bootstrap_servers
    produce(bootstrap, topic_pair[0], [event(i) for i in range(20)])
    produce(bootstrap, "other-" + topic_pair[0], [event(i, prefix="x") for i in range(5)])
    first = demo_pipeline(spark, demo_data, bootstrap, overrides(layout, topic_pair))
    first.run_stream(available_now=True)
    changed_topics = [topic_pair[0], "other-" + topic_pair[0]]
    changed = demo_pipeline(spark, demo_data, bootstrap, overrides(layout, changed_topics))
    # Settings that do not move the offsets may change under the same checkpoint.
    retuned = demo_pipeline(
        spark, demo_data, bootstrap, overrides(layout, topic_pair, max_offsets=7)
    )

    with pytest.raises(PipelineRunError) as refused:
        changed.run_stream(available_now=True)
    retuned.run_stream(available_now=True)

    assert refused.value.error_class == "CHECKPOINT_INCOMPATIBLE"
    message = refused.value.message
    assert str(layout.checkpoint) in message
    assert "other-" + topic_pair[0] in message and topic_pair[1] in message
    assert "runtime.stream.checkpoint" in message
    assert keys(first.output()) == sorted(f"e{i:06d}" for i in range(20))  # nothing of "x"
    # The command line says the same and exits with the run-failure code.
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data))
    monkeypatch.setenv("KAFKA_BOOTSTRAP", bootstrap)
    sets = [a for v in overrides(layout, changed_topics) for a in ("--set", v)]
    result = CliRunner().invoke(app, ["run", str(DEMO_YAML), "--mode", "stream", *sets])
    assert result.exit_code == EXIT_RUN_FAILED, result.output
    assert "CHECKPOINT_INCOMPATIBLE" in result.output


def sequence_registry() -> ExecutorRegistry:
    registry = isolated_registry()

    @executor(name="sequence", version="1.0", event_types=["pin_click"], registry=registry)
    class Sequence(Executor):
        """Keeps who did what when: the user-sequence view of enriched events."""

        def normalise(self, df: DataFrame) -> DataFrame:
            return df.withColumn("event_date", F.to_date("event_time"))

    return registry


def downstream_yaml(path: Path, enriched: Path, out: Layout) -> Path:
    path.write_text(
        textwrap.dedent(
            f"""\
            name: sequences
            version: "1"
            sources:
              - {{name: enriched, kind: delta, path: "{enriched}", payload_column: null}}
            decoding:
              schema: "event_id STRING, event_type STRING, user_id STRING, event_time STRING"
              required: [event_id, user_id, event_time, event_type]
            executors:
              - name: sequence
            output:
              columns:
                - {{name: event_id, type: string, nullable: false}}
                - {{name: user_id, type: string, nullable: false}}
                - {{name: event_type, type: string, nullable: false}}
                - {{name: event_time, type: timestamp, nullable: false}}
                - {{name: event_date, type: date, nullable: false}}
              key: [event_id]
            sink: {{path: "{out.sink}", mode: append}}
            dead_letters: {{path: "{out.dead_letters}"}}
            runtime:
              stream:
                checkpoint: "{out.checkpoint}"
                trigger: {{kind: available_now}}
            observability: {{metrics: {{kind: none}}}}
            """
        )
    )
    return path


def test_a_pipeline_streams_the_delta_output_of_another(
    spark: SparkSession,
    demo_data: Path,
    kafka_broker: LocalKafkaBroker,
    topic_pair: tuple[str, str],
    tmp_path: Path,
) -> None:
    upstream_out, downstream_out = Layout(tmp_path / "up"), Layout(tmp_path / "down")
    bootstrap = kafka_broker.bootstrap_servers
    upstream = demo_pipeline(spark, demo_data, bootstrap, overrides(upstream_out, topic_pair))
    yaml_file = downstream_yaml(tmp_path / "sequences.yaml", upstream_out.sink, downstream_out)
    downstream = Pipeline.from_yaml(yaml_file, spark=spark, registry=sequence_registry())

    produce(bootstrap, topic_pair[0], [event(i) for i in range(30)])
    upstream.run_stream(available_now=True)
    first = downstream.run_stream(available_now=True)
    produce(bootstrap, topic_pair[0], [event(i) for i in range(30, 50)])
    upstream.run_stream(available_now=True)
    second = downstream.run_stream(available_now=True)

    assert first.total("source_rows") == 30
    assert second.total("source_rows") == 20  # only the new upstream rows
    assert keys(downstream.output()) == keys(upstream.output()) == [f"e{i:06d}" for i in range(50)]
    sources = downstream.output().select("_source.kind", "_source.table").distinct().collect()
    assert [tuple(r) for r in sources] == [("delta", str(upstream_out.sink))]


def _typed_events(spark: SparkSession, ids: range) -> DataFrame:
    rows = [(f"e{i:06d}", "pin_click", f"u{i % 3}", f"2026-01-03T00:00:{i:02d}.000Z") for i in ids]
    return spark.createDataFrame(
        rows, "event_id STRING, event_type STRING, user_id STRING, event_time STRING"
    )


@pytest.mark.parametrize(
    "deleted",
    [
        "event_id = 'e000000'",  # one row of a file: the file is rewritten (a backfill's case)
        "event_id < 'e000010'",  # every row of the file: it is removed (a retention delete)
    ],
)
def test_a_downstream_stream_goes_past_an_upstream_delete_only_when_configured_to(
    spark: SparkSession, tmp_path: Path, deleted: str
) -> None:
    from delta.tables import DeltaTable

    upstream = tmp_path / "enriched"
    _typed_events(spark, range(10)).coalesce(1).write.format("delta").save(str(upstream))
    strict_yaml = downstream_yaml(tmp_path / "strict.yaml", upstream, Layout(tmp_path / "strict"))
    strict = Pipeline.from_yaml(strict_yaml, spark=spark, registry=sequence_registry())
    lenient_yaml = downstream_yaml(tmp_path / "lenient.yaml", upstream, Layout(tmp_path / "len"))
    lenient = Pipeline.from_yaml(
        lenient_yaml,
        spark=spark,
        registry=sequence_registry(),
        overrides=["sources[0].skip_change_commits=true", "sources[0].max_files_per_trigger=1"],
    )
    strict.run_stream(available_now=True)
    lenient.run_stream(available_now=True)
    # Upstream maintenance deletes a row (a retention delete), then new rows arrive in two files.
    DeltaTable.forPath(spark, str(upstream)).delete(deleted)
    _typed_events(spark, range(10, 15)).coalesce(1).write.format("delta").mode("append").save(
        str(upstream)
    )
    _typed_events(spark, range(15, 20)).coalesce(1).write.format("delta").mode("append").save(
        str(upstream)
    )

    with pytest.raises(PipelineRunError) as failed:
        strict.run_stream(available_now=True)
    second = lenient.run_stream(available_now=True)

    assert failed.value.error_class == "STREAM_FAILED"
    assert "skip_change_commits: true" in failed.value.message
    assert second.total("source_rows") == 10
    assert len(second.batches) == 2  # one new file per micro-batch
    assert keys(lenient.output()) == [f"e{i:06d}" for i in range(20)]


@pytest.mark.parametrize("dedup", [False, True], ids=["append", "append-dedup"])
def test_kafka_broker_restart_mid_stream_loses_nothing(
    spark: SparkSession, demo_data: Path, tmp_path: Path, dedup: bool
) -> None:
    broker = LocalKafkaBroker.start(tmp_path / "kafka")
    try:
        topic = f"restart-{uuid.uuid4().hex[:8]}"
        broker.create_topic(topic, partitions=2)
        layout = Layout(tmp_path / "out")
        trigger = "{kind: processing_time, interval: 1s}"
        extra = ["sink.dedup={window: 1h}"] if dedup else []
        sets = overrides(layout, [topic], mode="append", trigger=trigger, extra=extra)
        pipeline = demo_pipeline(spark, demo_data, broker.bootstrap_servers, sets)
        produce(broker.bootstrap_servers, topic, [event(i) for i in range(100)])
        run = start_stream(pipeline.plan)
        outcome: PipelineRunError | None = None
        try:
            wait_for(lambda: len(run.reports) >= 1, timeout=300, what="a first micro-batch")
            broker.stop()
            batches_while_down = len(run.reports)
            broker = LocalKafkaBroker.start(tmp_path / "kafka")  # same data dir, same port
            again = [event(i) for i in range(10)] if dedup else []  # redeliveries: dropped
            produce(broker.bootstrap_servers, topic, [*again, *(event(i) for i in range(100, 200))])

            def recovered_or_failed() -> bool:
                done = sum(r.source_rows for r in run.reports)
                return done >= 200 or not run.query.isActive

            wait_for(recovered_or_failed, timeout=300, what="recovery or a clear failure")
        finally:
            run.stop_requested.set()
            try:
                await_stream(run, handle_signals=False)
            except PipelineRunError as exc:
                outcome = exc
        if outcome is not None:  # failing is allowed, but only with a clear error
            assert outcome.error_class == "STREAM_FAILED"
            assert "resumes from its checkpoint" in outcome.message
        else:
            assert len(run.reports) > batches_while_down
        # A restart from the checkpoint picks up whatever is left.
        pipeline.run_stream(available_now=True)
        assert keys(pipeline.output()) == [f"e{i:06d}" for i in range(200)]
    finally:
        broker.stop()
