"""``spark-enrich demo generate``: synthetic data of the pin-sharing example, as Delta tables
and optionally produced to Kafka. Other ``demo`` commands register on :data:`demo_app`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_ENVIRONMENT, app, fail
from spark_enrich.errors import EnvironmentProblem, SparkEnrichError

demo_app = typer.Typer(
    help="The pin-sharing demo: generate its data (and run it).", no_args_is_help=True
)
app.add_typer(demo_app, name="demo")

DEFAULT_OUT = Path("demo-output")


@demo_app.command("generate")
def generate(
    events: Annotated[int, typer.Option("--events", min=1, help="Number of raw events.")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 7,
    out: Annotated[
        Path, typer.Option("--out", help="Folder of the Delta tables raw, pins and users.")
    ] = DEFAULT_OUT,
    kafka: Annotated[
        str | None,
        typer.Option("--kafka", help="Also produce the raw events to this Kafka bootstrap server."),
    ] = None,
) -> None:
    """Generate the demo's raw events and pins and users tables.

    Writes Delta tables raw (about 1% bad and 1% duplicated events), pins and users under --out,
    replacing what was there; with --kafka, also produces the raw events to that broker.
    """
    from spark_enrich.demo.generate import produce_to_kafka, write_demo_data
    from spark_enrich.session import get_spark

    try:
        spark = get_spark("spark-enrich-demo")
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    try:
        paths = write_demo_data(spark, out, events, seed=seed)
        for name, path in paths.items():
            rows = spark.read.format("delta").load(path).count()
            typer.echo(f"{name}: {rows} rows -> {path}")
        if kafka:
            raw = spark.read.format("delta").load(paths["raw"])
            produced = produce_to_kafka(raw, kafka)
            typer.echo(f"kafka: {produced} events -> {kafka} (topics engagement, search)")
    except SparkEnrichError as exc:
        fail(exc)
