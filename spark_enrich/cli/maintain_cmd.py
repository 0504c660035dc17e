"""``spark-enrich maintain PIPELINE.yaml``: compact, apply retention and vacuum the pipeline's
Delta tables (see :mod:`spark_enrich.maintenance`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_CONFIG_INVALID, EXIT_ENVIRONMENT, app, fail
from spark_enrich.errors import EnvironmentProblem, SparkEnrichError


@app.command("maintain")
def maintain(
    file: Annotated[Path, typer.Argument(help="Pipeline YAML file.", show_default=False)],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a value after loading: a.b[0].c=value (repeatable)."),
    ] = None,
    vacuum_hours: Annotated[
        float | None,
        typer.Option(
            "--vacuum-hours",
            min=0,
            help="Hours of removed files VACUUM keeps (default: the table's Delta retention).",
        ),
    ] = None,
) -> None:
    """OPTIMIZE the sink and dead-letter tables; with sink.retention_days, delete older sink
    rows; VACUUM both. Exit 2 when the file is invalid."""
    from spark_enrich.config import ConfigError, load_pipeline
    from spark_enrich.config.problems import listed

    try:
        config = load_pipeline(file, overrides=overrides or ())
    except ConfigError as exc:
        for line in listed(exc.problems):
            print(line, file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG_INVALID) from None

    from spark_enrich.maintenance import maintain as run_maintenance
    from spark_enrich.session import get_spark

    try:
        spark = get_spark(f"spark-enrich-maintain:{config.name}")
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    try:
        results = run_maintenance(config, spark, vacuum_hours=vacuum_hours)
    except SparkEnrichError as exc:
        fail(exc)
    for result in results:
        typer.echo(result.summary())
