"""``spark-enrich diff``, ``parity`` and ``check-executors``: show that two tables, a sink and
its recomputation, or two runs of an executor hold the same records (see
:mod:`spark_enrich.parity`). Exit 0 when they do, 1 with a report when they do not."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from spark_enrich.cli.app import (
    EXIT_CONFIG_INVALID,
    EXIT_ENVIRONMENT,
    EXIT_RUN_FAILED,
    app,
    fail,
)
from spark_enrich.cli.run_cmd import PipelineArg, SetOption, SourceOption, load
from spark_enrich.errors import EnvironmentProblem, SparkEnrichError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from spark_enrich.online.parity import OnlineParity
    from spark_enrich.parity.recompute import ParityReport


class Format(str, Enum):
    """Output of the parity commands."""

    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="text or json.")]
SampleOption = Annotated[
    int, typer.Option("--sample-rows", min=1, max=1000, help="Rows shown per kind of difference.")
]


def _columns(value: str, option: str) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise typer.BadParameter("give at least one column name", param_hint=option)
    return names


def read_table(spark: SparkSession, ref: str, option: str) -> DataFrame:
    """A Delta table by path (anything with a ``/`` or an existing folder) or catalog name."""
    from pyspark.errors import AnalysisException

    try:
        if "/" in ref or "\\" in ref or Path(ref).exists():
            return spark.read.format("delta").load(ref)
        return spark.read.table(ref)
    except AnalysisException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise typer.BadParameter(f"cannot read table {ref!r}: {first}", param_hint=option) from None


def emit(payload: dict[str, Any], lines: list[str], output: Format) -> None:
    """Print a report as JSON or as text."""
    if output is Format.json:
        typer.echo(json.dumps(payload, indent=2, sort_keys=False))
    else:
        for line in lines:
            typer.echo(line)


@app.command("diff")
def diff(
    left: Annotated[str, typer.Option(help="Reference table: a Delta path or a table name.")],
    right: Annotated[str, typer.Option(help="Table compared with it (path or name).")],
    key: Annotated[str, typer.Option(help="Key columns, comma-separated: event_id,event_date.")],
    ignore: Annotated[
        list[str] | None, typer.Option(help="A column not to compare (repeatable).")
    ] = None,
    metadata: Annotated[
        bool, typer.Option("--metadata", help="Compare the engine's _-prefixed columns too.")
    ] = False,
    sample: SampleOption = 10,
    output: FormatOption = Format.text,
) -> None:
    """Compare two Delta tables row by row on a key and field by field: rows only on the left,
    only on the right, duplicated keys and differing columns, with exact counts and a sample.
    One shuffle; nothing but the report is collected. Exit 0 when equal, 1 when not."""
    from spark_enrich.parity import DiffError, diff_frames
    from spark_enrich.session import get_spark

    keys = _columns(key, "--key")
    try:
        spark = get_spark("spark-enrich:diff")
        a, b = read_table(spark, left, "--left"), read_table(spark, right, "--right")
        try:
            report = diff_frames(a, b, keys, ignore=ignore or (), metadata=metadata, sample=sample)
        except DiffError as exc:
            raise typer.BadParameter(str(exc), param_hint="--key") from None
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    except SparkEnrichError as exc:
        fail(exc, EXIT_RUN_FAILED)
    payload = {"left": left, "right": right, **report.to_dict()}
    emit(payload, report.render(left, right), output)
    if not report.equal:
        raise typer.Exit(EXIT_RUN_FAILED)


@app.command("check-executors")
def check_executors(
    pipeline_file: PipelineArg,
    sample: Annotated[
        int, typer.Option("--sample", min=1, help="Events read from the batch source.")
    ] = 1000,
    executor: Annotated[
        list[str] | None, typer.Option(help="Check only this executor (repeatable).")
    ] = None,
    source: SourceOption = None,
    output: FormatOption = Format.text,
    overrides: SetOption = None,
) -> None:
    """Run each executor of a pipeline on a sample several times (1 and 3 partitions, rows in
    order and reversed, micro-batches of varying sizes, a second later) and compare the
    outputs. Exit 0 when every executor gives the same output each time; 1 naming the
    executor, column and rows that differ, or an executor the sample has no events for."""
    from spark_enrich.parity.determinism import check_pipeline

    pipeline = load(pipeline_file, overrides)
    try:
        reports = check_pipeline(pipeline, sample=sample, executors=executor or (), source=source)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="--executor") from None
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    except SparkEnrichError as exc:
        fail(exc, EXIT_RUN_FAILED)
    payload = {"pipeline": pipeline.config.name, "executors": [r.to_dict() for r in reports]}
    emit(payload, [line for r in reports for line in r.render()], output)
    if not all(r.deterministic and r.rows for r in reports):
        raise typer.Exit(EXIT_RUN_FAILED)


@app.command("parity")
def parity(
    pipeline_file: PipelineArg,
    start: Annotated[
        str | None, typer.Option("--from", help="First day of the range (YYYY-MM-DD).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Day after the last.")] = None,
    runtimes: Annotated[
        bool,
        typer.Option(
            "--runtimes",
            help="Run a sample through the stream path (Kafka) and the batch path; compare.",
        ),
    ] = False,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Compare each user's value in the sink.online store with the Delta table.",
        ),
    ] = False,
    events: Annotated[
        int | None,
        typer.Option(
            "--sample",
            min=1,
            help="--runtimes: events of the batch source (default 1000); --online: users "
            "compared (default all).",
        ),
    ] = None,
    generate: Annotated[
        int | None,
        typer.Option(min=1, help="--runtimes: generate this many demo events instead."),
    ] = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(help="--runtimes: a running broker (HOST:PORT); default a local one."),
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option(help="--runtimes: folder for its tables (default: temp).")
    ] = None,
    source: SourceOption = None,
    sample: SampleOption = 10,
    output: FormatOption = Format.text,
    overrides: SetOption = None,
) -> None:
    """Recompute a date range from the batch source with the current executors (nothing is
    written) and compare it with what the sink holds for it, executor by executor, engine
    metadata excluded; or, with --runtimes, compare the stream and batch paths on a sample,
    dead letters included; or, with --online, compare the online store with the sequence
    table (users missing or stale). Exit 0 when equal; 1 with the rows only on one side and
    per column the differing rows, field by field."""
    if online:
        if runtimes or start is not None or end is not None:
            raise typer.BadParameter(
                "--online takes no --runtimes/--from/--to", param_hint="--online"
            )
        found = _online(pipeline_file, overrides, events)
        emit(found.to_dict(), found.summary().splitlines(), output)
        if not found.ok:
            raise typer.Exit(EXIT_RUN_FAILED)
        return
    if runtimes:
        if start is not None or end is not None:
            raise typer.BadParameter("--runtimes takes no --from/--to", param_hint="--runtimes")
        report = _runtimes(pipeline_file, overrides, events or 1000, generate, bootstrap, workdir)
    else:
        report = _range(pipeline_file, overrides, start, end, source, sample)
    emit(report.to_dict(), report.render(), output)
    if not report.equal:
        raise typer.Exit(EXIT_RUN_FAILED)


def _range(
    pipeline_file: Path,
    overrides: list[str] | None,
    start: str | None,
    end: str | None,
    source: str | None,
    sample: int,
) -> ParityReport:
    from spark_enrich.cli.run_cmd import _parse_day
    from spark_enrich.parity.recompute import parity_range

    first, last = _parse_day(start, "--from"), _parse_day(end, "--to")
    if first is None or last is None:
        raise typer.BadParameter("give both --from and --to (or --runtimes)", param_hint="--from")
    if last <= first:
        raise typer.BadParameter(f"--to {last} is not after --from {first}", param_hint="--to")
    pipeline = load(pipeline_file, overrides)
    try:
        return parity_range(pipeline, first, last, source=source, sample=sample)
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    except SparkEnrichError as exc:
        fail(exc, EXIT_RUN_FAILED)


def _runtimes(
    pipeline_file: Path,
    overrides: list[str] | None,
    events: int,
    generate: int | None,
    bootstrap: str | None,
    workdir: Path | None,
) -> ParityReport:
    import os
    import tempfile

    from spark_enrich.parity.runtimes import RuntimeSetup, parity_runtimes

    pipeline = load(pipeline_file, overrides)  # invalid configuration: exit 2 before Spark
    work = workdir or Path(tempfile.mkdtemp(prefix="spark-enrich-parity-"))
    env = dict(os.environ)
    try:
        spark = pipeline.spark
        if generate is not None:
            from spark_enrich.demo.generate import write_demo_data

            write_demo_data(spark, work / "demo", generate)
            env["SPARK_ENRICH_DEMO_DIR"] = str(work / "demo")
            events = generate
        setup = RuntimeSetup(pipeline_file, tuple(overrides or ()), env, spark)
        return parity_runtimes(setup, work, sample=events, bootstrap=bootstrap)
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    except SparkEnrichError as exc:
        fail(exc, EXIT_RUN_FAILED)


def _online(pipeline_file: Path, overrides: list[str] | None, users: int | None) -> OnlineParity:
    from spark_enrich.config.online import redact_url
    from spark_enrich.online.parity import check_online
    from spark_enrich.online.store import connect
    from spark_enrich.sink import SequenceSink

    pipeline = load(pipeline_file, overrides)  # invalid configuration: exit 2 before Spark
    sink = pipeline.plan.sink
    if not isinstance(sink, SequenceSink) or sink.online is None:
        typer.echo(f"spark-enrich: {pipeline_file} has no sink.online store to compare", err=True)
        raise typer.Exit(EXIT_CONFIG_INVALID)
    online = sink.online
    try:
        try:
            # Asked from the driver first: an unreachable store is a problem of the
            # environment (exit 3), not a Spark task failing past its retries.
            connect(online.writer.url).ping()
        except Exception as exc:
            store = redact_url(online.writer.url)
            raise EnvironmentProblem(
                "ONLINE_STORE_UNAVAILABLE",
                f"The online store {store} does not answer: {type(exc).__name__}.",
                {"store": store},
            ) from None
        return check_online(pipeline.plan.spark, online, sink.table, groups=users)
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    except SparkEnrichError as exc:
        fail(exc, EXIT_RUN_FAILED)
