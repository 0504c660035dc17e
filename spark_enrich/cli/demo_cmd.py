"""``spark-enrich demo generate``: synthetic data of the pin-sharing example, as Delta tables
and optionally produced to Kafka. Other ``demo`` commands register on :data:`demo_app`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_CONFIG_INVALID, EXIT_ENVIRONMENT, app, fail
from spark_enrich.demo.run import clear_outputs
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
    from spark_enrich.session import demo_conf, get_spark

    try:
        spark = get_spark("spark-enrich-demo", conf=demo_conf(out))
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


@demo_app.command("run")
def run(
    events: Annotated[int, typer.Option("--events", min=1, help="Number of raw events.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 7,
    out: Annotated[Path, typer.Option("--out", help="Folder for all demo tables.")] = DEFAULT_OUT,
    pipeline_file: Annotated[
        Path, typer.Option("--pipeline", help="The demo pipeline file.")
    ] = Path("pipelines/demo.yaml"),
    stream: Annotated[
        bool,
        typer.Option(
            "--stream/--batch",
            help="--batch reads the Delta raw archive; --stream starts a local Kafka broker, "
            "produces the events and runs the stream (available-now).",
        ),
    ] = False,
    sequences_file: Annotated[
        Path,
        typer.Option(
            "--sequences",
            help="The pipeline that folds the enriched table into per-user sequences, run "
            "after the demo pipeline (a Delta stream with --stream); --no-sequences skips it.",
        ),
    ] = Path("pipelines/sequences.yaml"),
    no_sequences: Annotated[
        bool, typer.Option("--no-sequences", help="Do not build the per-user sequences.")
    ] = False,
) -> None:
    """Generate the demo data and run the demo pipeline end to end on it, then fold its
    output into per-user sequences; print each run's report (run_demo() in Python)."""
    from spark_enrich.cli.run_cmd import summarise
    from spark_enrich.config import ConfigError
    from spark_enrich.demo.run import run_demo

    try:
        done = run_demo(
            out,
            events=events,
            seed=seed,
            pipeline_file=pipeline_file,
            sequences_file=None if no_sequences else sequences_file,
            stream=stream,
        )
        typer.echo(f"generated {events} raw events (seed {seed}) -> {done.raw_path}")
        if done.produced is not None:
            typer.echo(f"produced {done.produced} events to Kafka at {done.bootstrap_servers}")
        pipeline = done.pipeline
        summarise(pipeline, done.report)
        output_rows = pipeline.output().count()
        letters = pipeline.dead_letters().count()
        typer.echo(f"enriched Delta table: {pipeline.config.sink.path} holds {output_rows} rows")
        typer.echo(
            f"dead-letter table:    {pipeline.config.dead_letters.path} holds {letters} rows"
        )
        if done.sequences is not None and done.sequences_report is not None:
            summarise(done.sequences, done.sequences_report)
            users = done.sequences.output().count()
            typer.echo(
                f"sequence table:       {done.sequences.config.sink.path} holds {users} users' "
                "latest events"
            )
            from spark_enrich.online.demo import serve_one_user

            path, body = serve_one_user(done.sequences, out / "_online_store")
            typer.echo(f"served online: GET {path} ->\n{body}")
    except ConfigError as exc:
        fail(exc, EXIT_CONFIG_INVALID)
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    except SparkEnrichError as exc:
        fail(exc)


# Kept under its old name for callers and tests that import it from here.
_clear_outputs = clear_outputs
