"""``spark_enrich.testing.run_stages``: an executor's stages with the checks a pipeline run
applies, each stage's output returned, and only the declared tables and services offered."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from support.registry import isolated_registry

from spark_enrich import EnrichContext, Executor, ExecutorContractError, TableSpec, executor
from spark_enrich.testing import run_stages

REGISTRY = isolated_registry()
EVENTS = "event_id STRING, pin_id STRING, _se_meta STRING"


def events(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [("e1", "p1", "m1"), ("e2", "p2", "m2"), ("bot", "p1", "m3")], EVENTS
    )


def pins(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame([("p1", "food"), ("p2", "art")], "pin_id STRING, category STRING")


@executor(
    name="staged", version="1", event_types=["x"], tables=("pins",), services=("lang",),
    registry=REGISTRY,
)  # fmt: skip
class Staged(Executor):
    """Every stage adds or drops something visible."""

    def filter(self, df: DataFrame) -> DataFrame:
        return df.where(F.col("event_id") != "bot")

    def featurise(self, df: DataFrame) -> DataFrame:
        return df.withColumn("loud", F.upper("event_id"))

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        return ctx.call_service("lang", ctx.join("pins", df))

    def normalise(self, df: DataFrame) -> DataFrame:
        return df.drop("loud")


def lang(df: DataFrame) -> DataFrame:
    return df.withColumn("language", F.lit("en"))


def test_each_stage_output_is_returned_in_order(spark: SparkSession) -> None:
    out = run_stages(
        Staged(),
        events(spark),
        tables={"pins": pins(spark)},
        services={"lang": lang},
        joins={"pins": TableSpec(keys=("pin_id",))},
    )

    kept = spark.createDataFrame([("e1", "p1", "m1"), ("e2", "p2", "m2")], EVENTS)
    assert_df_equality(out.filter, kept, ignore_row_order=True)
    assert_df_equality(
        out.featurise, kept.withColumn("loud", F.upper("event_id")), ignore_row_order=True
    )
    enriched = spark.createDataFrame(
        [("e1", "p1", "m1", "E1", "food", "en"), ("e2", "p2", "m2", "E2", "art", "en")],
        f"{EVENTS}, loud STRING, category STRING, language STRING",
    )
    assert_df_equality(out.enrich, enriched, ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(
        out.normalise, enriched.drop("loud"), ignore_row_order=True, ignore_nullable=True
    )


def test_a_table_the_executor_does_not_declare_is_not_offered(spark: SparkSession) -> None:
    @executor(name="sneaky", version="1", event_types=["x"], registry=REGISTRY)
    class Sneaky(Executor):
        def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
            return df.join(ctx.table("pins"), "pin_id")

    with pytest.raises(ExecutorContractError) as info:
        run_stages(Sneaky(), events(spark), tables={"pins": pins(spark)})
    assert info.value.error_class == "UNDECLARED_TABLE"


def test_a_service_the_executor_does_not_declare_is_not_offered(spark: SparkSession) -> None:
    @executor(name="caller", version="1", event_types=["x"], registry=REGISTRY)
    class Caller(Executor):
        def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
            return ctx.call_service("lang", df)

    with pytest.raises(ExecutorContractError) as info:
        run_stages(Caller(), events(spark), services={"lang": lang})
    assert info.value.error_class == "UNDECLARED_SERVICE"


def test_a_stage_returning_no_dataframe_breaks_the_contract(spark: SparkSession) -> None:
    @executor(name="counting", version="1", event_types=["x"], registry=REGISTRY)
    class Counting(Executor):
        def featurise(self, df: DataFrame) -> DataFrame:
            return df.count()  # type: ignore[return-value]

    with pytest.raises(ExecutorContractError) as info:
        run_stages(Counting(), events(spark))
    assert info.value.error_class == "STAGE_RETURNED_NON_DATAFRAME"
    assert info.value.message_parameters == {
        "executor": "counting", "stage": "featurise", "found": "int",
    }  # fmt: skip


def test_a_stage_dropping_the_engine_column_breaks_the_contract(spark: SparkSession) -> None:
    @executor(name="selecting", version="1", event_types=["x"], registry=REGISTRY)
    class Selecting(Executor):
        def normalise(self, df: DataFrame) -> DataFrame:
            return df.select("event_id", "pin_id")

    with pytest.raises(ExecutorContractError) as info:
        run_stages(Selecting(), events(spark))
    assert info.value.error_class == "ENGINE_COLUMN_DROPPED"
    assert info.value.message_parameters == {"executor": "selecting", "stage": "normalise"}


def test_a_stage_spark_cannot_analyse_fails_naming_the_stage(spark: SparkSession) -> None:
    @executor(name="misspelt", version="1", event_types=["x"], registry=REGISTRY)
    class Misspelt(Executor):
        def filter(self, df: DataFrame) -> DataFrame:
            return df.where(F.col("pin_idd").isNotNull())

    with pytest.raises(ExecutorContractError) as info:
        run_stages(Misspelt(), events(spark))
    assert info.value.error_class == "STAGE_FAILED"
    assert info.value.message_parameters == {"executor": "misspelt", "stage": "filter"}
