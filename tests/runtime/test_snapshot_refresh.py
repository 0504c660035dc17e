"""A table snapshot refreshes while a stream runs: events after the refresh interval join a pin
appended to the table, events before it do not."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.engine import build_config, config_dict, raw, registry_with
from support.runtime import produce, wait_for

from spark_enrich import EnrichContext, Executor, Pipeline, executor
from spark_enrich.runtime.stream import await_stream, start_stream
from spark_enrich.testing.kafka import LocalKafkaBroker

pytestmark = pytest.mark.kafka


class Categorised(Executor):
    """Clicks whose ``value`` is the category of pin ``x`` (``none`` for an unknown pin)."""

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        return ctx.join("pins", df.withColumnRenamed("x", "pin_id"))

    def normalise(self, df: DataFrame) -> DataFrame:
        return df.withColumns(
            {
                "event_date": F.to_date("event_time"),
                "value": F.coalesce(F.col("category"), F.lit("none")),
            }
        )


def write_pins(spark: SparkSession, path: Path, rows: list[tuple[str, str]], mode: str) -> None:
    frame = spark.createDataFrame(rows, "pin_id STRING, category STRING")
    frame.write.format("delta").mode(mode).save(str(path))


def test_events_after_the_refresh_join_a_pin_appended_while_the_stream_runs(
    spark: SparkSession, kafka_broker: LocalKafkaBroker, kafka_topic: str, tmp_path: Path
) -> None:
    write_pins(spark, tmp_path / "pins", [("p1", "food")], "overwrite")
    registry = registry_with()
    executor(
        name="categorised", version="1.0", event_types=["click"], tables=["pins"], registry=registry
    )(Categorised)
    table = {"name": "pins", "path": str(tmp_path / "pins"), "keys": ["pin_id"], "refresh": "2s"}
    source = {
        "name": "events",
        "kind": "kafka",
        "bootstrap_servers": kafka_broker.bootstrap_servers,
        "topics": [kafka_topic],
        "starting_offsets": "earliest",
    }
    data = config_dict(tmp_path, ["categorised"], enrichments={"tables": [table]})
    data["sources"] = [source]
    data["runtime"] = {
        "stream": {
            "checkpoint": str(tmp_path / "checkpoint"),
            "trigger": {"kind": "processing_time", "interval": "500ms"},
        }
    }
    pipeline = Pipeline(build_config(data, registry), spark=spark, registry=registry)
    bootstrap = kafka_broker.bootstrap_servers

    def output_ids() -> set[str]:
        out = tmp_path / "out"
        if not (out / "_delta_log").is_dir():
            return set()
        return {r.event_id for r in pipeline.output().select("event_id").collect()}

    run = start_stream(pipeline.plan)
    try:
        produce(bootstrap, kafka_topic, [raw("before", x="p2"), raw("known", x="p1")])
        wait_for(lambda: {"before", "known"} <= output_ids(), timeout=120, what="first events")
        write_pins(spark, tmp_path / "pins", [("p2", "travel")], "append")
        time.sleep(2.5)  # past the refresh interval: the next micro-batch checks the version
        produce(bootstrap, kafka_topic, [raw("after", x="p2")])
        wait_for(lambda: "after" in output_ids(), timeout=120, what="the event after")
    finally:
        run.stop_requested.set()
        await_stream(run, handle_signals=False, timeout=60)

    actual = pipeline.output().select("event_id", "value")
    expected = spark.createDataFrame(
        [("before", "none"), ("known", "food"), ("after", "travel")],
        "event_id STRING, value STRING",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    assert run.reports[-1].tables == {"pins": 1}
