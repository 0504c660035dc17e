"""``spark-enrich status``: the last runs per executor, the stream's liveness and completeness
per day, checked against ``observability.thresholds`` (see :mod:`spark_enrich.observe`)."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_ENVIRONMENT, EXIT_RUN_FAILED, app, fail
from spark_enrich.cli.run_cmd import PipelineArg, SetOption, load
from spark_enrich.errors import EnvironmentProblem, SparkEnrichError

EXIT_THRESHOLD_BREACHED = 4
"""``status``: a configured threshold is breached (an alert or a readiness probe fails)."""


class StatusFormat(str, Enum):
    """Output of ``status``."""

    text = "text"
    json = "json"


@app.command("status")
def status(
    pipeline_file: PipelineArg,
    output: Annotated[StatusFormat, typer.Option("--format", help="text or json.")] = (
        StatusFormat.text
    ),
    days: Annotated[
        int, typer.Option("--days", min=1, max=366, help="Days of completeness shown.")
    ] = 7,
    overrides: SetOption = None,
) -> None:
    """How the pipeline is doing: its last runs (counts, dead-letter share, lag, freshness,
    throughput), each executor's latest run, whether the stream is running, and per day what
    the stream and backfills wrote. Reads the metrics table, the checkpoint and the sink; writes
    nothing. Exit 0 when healthy, 4 when a threshold of observability.thresholds is breached."""
    from spark_enrich.observe.status import pipeline_status

    pipeline = load(pipeline_file, overrides)
    try:
        found = pipeline_status(pipeline.config, pipeline.spark, days=days)
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    except SparkEnrichError as exc:
        fail(exc, EXIT_RUN_FAILED)
    if output is StatusFormat.json:
        typer.echo(json.dumps(found.to_dict(), indent=2))
    else:
        for line in found.render():
            typer.echo(line)
    if not found.healthy:
        raise typer.Exit(EXIT_THRESHOLD_BREACHED)
