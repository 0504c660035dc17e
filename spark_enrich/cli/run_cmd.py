"""``spark-enrich run`` and ``spark-enrich backfill``: the pipeline runtimes from the shell and
under ``spark-submit`` (the session spark-submit made is reused, never reconfigured)."""

from __future__ import annotations

import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from spark_enrich.cli.app import EXIT_CONFIG_INVALID, EXIT_ENVIRONMENT, EXIT_RUN_FAILED, app, fail
from spark_enrich.errors import EnvironmentProblem, SparkEnrichError

if TYPE_CHECKING:
    from spark_enrich.accounting import RunReport
    from spark_enrich.pipeline import Pipeline


class Mode(str, Enum):
    """How ``run`` schedules its input."""

    stream = "stream"
    batch = "batch"


PipelineArg = Annotated[Path, typer.Argument(help="The pipeline YAML file.", show_default=False)]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Override a config value: a.b=value (repeatable).")
]
SourceOption = Annotated[str | None, typer.Option(help="Source to read (default from config).")]


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


def load(path: Path, overrides: list[str] | None) -> Pipeline:
    """Validate the pipeline before anything starts; print every problem and exit 2 if invalid."""
    from spark_enrich.config import ConfigError
    from spark_enrich.config.problems import listed
    from spark_enrich.pipeline import Pipeline

    try:
        return Pipeline.from_yaml(path, overrides=overrides or ())
    except ConfigError as exc:
        for line in listed(exc.problems):
            print(line, file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG_INVALID) from None


def written_label(pipeline: Pipeline) -> str:
    """What the sink's count means: new rows, or sequences written by a sequence sink."""
    from spark_enrich.sink import SequenceSink

    return "sequences written" if isinstance(pipeline.plan.sink, SequenceSink) else "new sink rows"


def summarise(pipeline: Pipeline, report: RunReport) -> None:
    """Print the run's accounting and where its output is."""
    sink = pipeline.config.sink
    letters = pipeline.config.dead_letters
    typer.echo(f"pipeline {report.pipeline} run {report.run_id}: {report.batch_count} batch(es)")
    for name, c in report.by_executor().items():
        outside = f"  outside range {c.outside_range:>6}" if c.outside_range else ""
        typer.echo(
            f"  {name:<14} input {c.input:>9}  output {c.output:>9}  filtered {c.filtered:>8}  "
            f"dead-lettered {c.dead_lettered:>6}{outside}"
        )
    typer.echo(
        f"  unrouted {report.total('unrouted')}, decode dead letters "
        f"{sum(report.decode_dead_lettered().values())}, "
        f"{written_label(pipeline)} {report.total('sink_rows_added')}"
    )
    typer.echo(f"  output:       {sink.path or sink.table}")
    typer.echo(f"  dead letters: {letters.path or letters.table}")


def _run(action: str, pipeline: Pipeline, call: object) -> RunReport:
    try:
        return call()  # type: ignore[operator, no-any-return]
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    except SparkEnrichError as exc:
        fail(exc, EXIT_RUN_FAILED)


@app.command("run")
def run(
    pipeline_file: PipelineArg,
    mode: Annotated[Mode, typer.Option(help="stream (readStream) or batch (read).")] = Mode.batch,
    start: Annotated[
        str | None, typer.Option("--from", help="Batch: first day (YYYY-MM-DD).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Batch: day after the last.")] = None,
    source: SourceOption = None,
    available_now: Annotated[
        bool, typer.Option(help="Stream: drain what is there, then stop.")
    ] = False,
    overrides: SetOption = None,
) -> None:
    """Run a pipeline as a stream or as one batch. SIGTERM/SIGINT stop a stream cleanly."""
    pipeline = load(pipeline_file, overrides)
    if mode is Mode.batch:
        first, last = _parse_day(start, "--from"), _parse_day(end, "--to")
        report = _run(
            "run", pipeline, lambda: pipeline.run_batch(start=first, end=last, source=source)
        )
    else:
        report = _run(
            "run",
            pipeline,
            lambda: pipeline.run_stream(source=source, available_now=available_now or None),
        )
    summarise(pipeline, report)


@app.command("backfill")
def backfill(
    pipeline_file: PipelineArg,
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Day after the last (YYYY-MM-DD).")],
    source: SourceOption = None,
    chunk_days: Annotated[int | None, typer.Option(help="Days per chunk (default config).")] = None,
    force: Annotated[bool, typer.Option(help="Redo chunks that already finished.")] = False,
    allow_empty: Annotated[
        bool,
        typer.Option(
            help="Replace days the output holds rows for even when the source gives none "
            "(refused by default: BACKFILL_WOULD_EMPTY)."
        ),
    ] = False,
    overrides: SetOption = None,
) -> None:
    """Reprocess a date range chunk by chunk, replacing exactly that range of the output."""
    from datetime import timedelta

    first, last = _parse_day(start, "--from"), _parse_day(end, "--to")
    assert first is not None and last is not None
    pipeline = load(pipeline_file, overrides)
    size = timedelta(days=chunk_days) if chunk_days else None
    report = _run(
        "backfill",
        pipeline,
        lambda: pipeline.backfill(
            first, last, chunk_size=size, force=force, source=source, allow_empty=allow_empty
        ),
    )
    summarise(pipeline, report)
