"""``spark-enrich serve``: the online serving API over a pipeline's ``sink.online`` store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_CONFIG_INVALID, EXIT_ENVIRONMENT, app
from spark_enrich.errors import EnvironmentProblem

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
