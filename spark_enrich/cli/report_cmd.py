"""``spark-enrich report``: throughput, lag, freshness and dead-letter share over time per
executor, from the metrics table, as one HTML page (see :mod:`spark_enrich.observe.report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_ENVIRONMENT, EXIT_RUN_FAILED, app, fail
from spark_enrich.cli.run_cmd import PipelineArg, SetOption, load
from spark_enrich.errors import EnvironmentProblem, SparkEnrichError


@app.command("report")
def report(
    pipeline_file: PipelineArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", dir_okay=False, help="The HTML file to write.")
    ] = Path("report.html"),
    overrides: SetOption = None,
) -> None:
    """Charts of the pipeline's metrics table over time, per executor: throughput, source lag,
    freshness and dead-letter share, in one self-contained HTML file (charts inline). Reads the
    metrics table only. Exit 1 when the pipeline has no Delta metrics table or it is empty."""
    from spark_enrich.observe.report import metrics_report, report_table

    pipeline = load(pipeline_file, overrides)
    try:
        report_table(pipeline.config)  # before Spark starts: nothing to chart, no JVM
        found = metrics_report(pipeline.config, pipeline.spark)
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    except SparkEnrichError as exc:
        fail(exc, EXIT_RUN_FAILED)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(found.html(), encoding="utf-8")
    typer.echo(
        f"wrote {out}: {len(found.charts)} charts of {len(found.points)} batches of "
        f"pipeline {found.pipeline}"
    )
