"""``spark-enrich demo generate`` and producing demo events to a real Kafka broker."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality
from confluent_kafka import Consumer
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from typer.testing import CliRunner

from spark_enrich.cli.app import app
from spark_enrich.cli.demo_cmd import _clear_outputs
from spark_enrich.config import load_pipeline
from spark_enrich.demo.generate import DemoDataError, generate_raw_events, produce_to_kafka
from spark_enrich.demo.run import run_demo
from spark_enrich.testing.kafka import LocalKafkaBroker

REPO = Path(__file__).resolve().parents[2]
DEMO_EXECUTORS = [
    e["name"] for e in yaml.safe_load((REPO / "pipelines" / "demo.yaml").read_text())["executors"]
]


def test_generate_command_writes_the_tables_and_prints_paths_and_counts(
    spark: SparkSession, tmp_path: Path
) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "generate", "--events", "500", "--seed", "3", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"raw: 500 rows -> {out.resolve() / 'raw'}" in lines
    assert f"pins: 25 rows -> {out.resolve() / 'pins'}" in lines  # 500 events -> 25 pins (min 20)
    assert f"users: 10 rows -> {out.resolve() / 'users'}" in lines


@pytest.mark.kafka
def test_produce_to_kafka_delivers_every_row(
    spark: SparkSession, kafka_broker: LocalKafkaBroker, kafka_topic: str
) -> None:
    raw = generate_raw_events(spark, 300, seed=5).withColumn("topic", F.lit(kafka_topic))

    produced = produce_to_kafka(raw, kafka_broker.bootstrap_servers, batch=100)

    assert produced == 300
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_broker.bootstrap_servers,
            "group.id": f"g-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([kafka_topic])
    received: list[tuple[str | None, str]] = []
    try:
        for _ in range(60):
            for message in consumer.consume(num_messages=500, timeout=1.0):
                assert message.error() is None, message.error()
                key, value = message.key(), message.value()
                assert value is not None
                received.append((None if key is None else key.decode(), value.decode()))
            if len(received) >= 300:
                break
    finally:
        consumer.close()
    actual = spark.createDataFrame(received, "key STRING, value STRING")
    assert_df_equality(
        actual, raw.select("key", "value"), ignore_row_order=True, ignore_nullable=True
    )


def test_produce_to_kafka_raises_when_nothing_is_acknowledged(spark: SparkSession) -> None:
    raw = generate_raw_events(spark, 3, seed=5)

    with pytest.raises(DemoDataError) as info:
        # Port 1 on loopback: nobody listens; give up on each message after 1.5 s.
        produce_to_kafka(
            raw,
            "127.0.0.1:1",
            config={"message.timeout.ms": 1500, "enable.idempotence": False},
            flush_timeout=10,
        )

    assert info.value.error_class == "KAFKA_DELIVERY_FAILED"
    assert info.value.message_parameters["failed"] == 3


def test_demo_run_enriches_the_events_and_folds_them_into_each_users_sequence(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # the default pipeline paths
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "run", "--events", "300", "--out", str(out)])

    assert result.exit_code == 0, result.output
    enriched = spark.read.format("delta").load(str(out / "enriched"))
    assert f"enriched Delta table: {out / 'enriched'} holds {enriched.count()} rows" in (
        result.output
    )
    per_user = {r["user_id"]: r["count"] for r in enriched.groupBy("user_id").count().collect()}
    sequences = spark.read.format("delta").load(str(out / "user_sequences"))
    sizes = {
        r["user_id"]: r["n"]
        for r in sequences.select("user_id", F.size("events").alias("n")).collect()
    }
    # Every demo event names a pin or a query, so each user's sequence holds min(50, events).
    assert sizes == {user: min(50, n) for user, n in per_user.items()}
    assert f"sequences written {len(per_user)}" in result.output
    # It ends by serving the first user's sequence from a real store over HTTP.
    first = min(per_user)
    served = re.search(
        rf"served online: GET /v1/sequences/{first}\?limit=3 ->\n(.+)$", result.output, re.M
    )
    assert served, result.output
    assert len(json.loads(served.group(1))["events"]) == min(3, per_user[first])
    # The batch report: one line per executor of the demo pipeline with its counts.
    for name in DEMO_EXECUTORS:
        assert re.search(rf"^  {name} +input +\d+  output +\d+", result.output, re.M), name


def test_run_demo_returns_the_batch_report_demo_run_prints(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # the default pipeline paths
    out = tmp_path / "demo"

    done = run_demo(out, events=300, seed=5, sequences_file=None, spark=spark)

    counts = done.report.by_executor()
    assert sorted(counts) == sorted(DEMO_EXECUTORS)
    enriched = spark.read.format("delta").load(str(out / "enriched")).count()
    letters = spark.read.format("delta").load(str(out / "dead_letters")).count()
    assert done.report.total("sink_rows_added") == enriched
    decoded_away = sum(done.report.decode_dead_lettered().values())
    assert sum(c.dead_lettered for c in counts.values()) + decoded_away == letters
    assert done.sequences is None and done.sequences_report is None


def test_demo_run_clears_only_its_pipelines_outputs_inside_its_folder(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    config = load_pipeline(
        REPO / "pipelines" / "sequences.yaml",
        env={"SPARK_ENRICH_DEMO_DIR": str(out)},
        overrides=[f"dead_letters.path={elsewhere / 'letters'}"],
    )
    kept = [out / "raw", elsewhere / "letters"]
    cleared = [out / "user_sequences", out / "_checkpoints" / "sequences"]
    for folder in (*kept, *cleared):
        folder.mkdir(parents=True)
    _clear_outputs(config, out)
    assert [f.exists() for f in kept] == [True, True]
    assert [f.exists() for f in cleared] == [False, False]
