"""``spark-enrich serve``: the online serving API over a pipeline's ``sink.online`` store;
``spark-enrich online sync``: (re)load that store from the Delta sequence table."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_CONFIG_INVALID, EXIT_ENVIRONMENT, app, fail
from spark_enrich.errors import EnvironmentProblem, SparkEnrichError

online_app = typer.Typer(help="The online store of a sequence sink.", no_args_is_help=True)
app.add_typer(online_app, name="online")

TOKEN_ENV = "SPARK_ENRICH_SERVE_TOKEN"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve_token(host: str) -> str | None:
    """The bearer token from ``$SPARK_ENRICH_SERVE_TOKEN``; required off loopback.

    Raises:
        EnvironmentProblem: ``SERVE_TOKEN_REQUIRED`` when ``host`` is not loopback and no token
            is set.
    """
    token = os.environ.get(TOKEN_ENV) or None
    if token is None and host not in _LOOPBACK:
        raise EnvironmentProblem(
            "SERVE_TOKEN_REQUIRED",
            f"serve binds {host}, beyond this machine: set {TOKEN_ENV} to a bearer token "
            "(clients send 'Authorization: Bearer <token>'), or bind 127.0.0.1.",
            {"host": host},
        )
    return token


@app.command()
def serve(
    pipeline: Annotated[Path, typer.Argument(help="The pipeline file (a sink with `online`).")],
    host: Annotated[
        str, typer.Option(help="Address to bind; beyond loopback a token is required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
) -> None:
    """Serve users' sequences from the pipeline's online store over HTTP."""
    from spark_enrich.cli.app import fail
    from spark_enrich.config import ConfigError, load_pipeline

    try:
        token = serve_token(host)
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    try:
        config = load_pipeline(pipeline)
    except ConfigError as exc:
        print(exc)
        raise typer.Exit(EXIT_CONFIG_INVALID) from None
    store = config.sink.online
    if store is None:
        print(f"spark-enrich: {pipeline} has no sink.online store to serve")
        raise typer.Exit(EXIT_CONFIG_INVALID)
    import uvicorn

    from spark_enrich.online.api import create_app
    from spark_enrich.online.store import connect

    client = connect(store.url.get_secret_value())
    uvicorn.run(create_app(client, store.key_prefix, token=token), host=host, port=port)


@online_app.command("sync")
def sync(
    pipeline: Annotated[Path, typer.Argument(help="The pipeline file (a sink with `online`).")],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value: a.b=value (repeatable)."),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete every key under the prefix first.")
    ] = False,
    buckets: Annotated[
        int | None,
        typer.Option(
            "--buckets", min=1, max=4096, help="Units of resumption (default: one per 10,000)."
        ),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar (default: on a terminal)."),
    ] = None,
) -> None:
    """Load the store from the Delta sequence table; continue an unfinished load; start over
    (wiping the prefix) when the table was recreated. Exit 1 when the store fails."""
    from spark_enrich.cli.run_cmd import load
    from spark_enrich.sink import SequenceSink

    loaded = load(pipeline, overrides)
    if loaded.config.sink.online is None:
        print(f"spark-enrich: {pipeline} has no sink.online store to sync", file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG_INVALID)
    try:
        plan = loaded.plan
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    sink = plan.sink
    assert isinstance(sink, SequenceSink) and sink.online is not None
    from spark_enrich.online.sync import sync_store

    if not sink.table.exists(plan.spark):
        print(
            f"spark-enrich: the sequence table {sink.table} does not exist yet: run the "
            "pipeline first",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    bar = _Bar(sys.stderr.isatty() if progress is None else progress)
    try:
        report = sync_store(
            plan.spark, sink.online, sink.table, reset=reset, buckets=buckets, on_progress=bar
        )
    except SparkEnrichError as exc:
        fail(exc)
    finally:
        bar.close()
    typer.echo(report.summary())


class _Bar:
    """A rich progress bar (groups loaded of the table's) when ``fancy``; else a line at each
    tenth."""

    def __init__(self, fancy: bool) -> None:
        self._bar = None
        self._tenth = -1
        if fancy:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self._bar = Progress(
                "[bold]online sync[/]", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
            )
            self._task = self._bar.add_task("", total=None)
            self._bar.start()

    def __call__(self, loaded: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=loaded, total=total)
            return
        tenth = 10 if total == 0 else loaded * 10 // total
        if tenth != self._tenth:
            self._tenth = tenth
            print(f"online sync: {loaded}/{total} groups loaded", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
