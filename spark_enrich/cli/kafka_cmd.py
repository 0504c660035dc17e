"""``spark-enrich kafka start|stop|status``: the local single-node broker for demos and tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_ENVIRONMENT, app, fail
from spark_enrich.errors import BrokerError, SparkEnrichError

kafka_app = typer.Typer(
    help="Run a local single-node Kafka broker (KRaft) on 127.0.0.1.", no_args_is_help=True
)
app.add_typer(kafka_app, name="kafka")

DEFAULT_DIR = Path(".spark-enrich/kafka")
BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP"
DirOption = Annotated[Path, typer.Option("--dir", help="The broker's data and state folder.")]


@kafka_app.command("start")
def start(
    data_dir: DirOption = DEFAULT_DIR,
    port: Annotated[
        int | None,
        typer.Option(help="Client port (default: the folder's previous one, or a free one)."),
    ] = None,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset", help="Delete the folder's topics and records first; start on a new port."
        ),
    ] = False,
) -> None:
    """Download the broker once (cached, checksum-verified), start it and print its address.

    A folder a broker used before keeps its topics, records and port across stop and start.
    """
    from spark_enrich.testing.kafka import LocalKafkaBroker

    existing = LocalKafkaBroker.attach(data_dir)
    if existing is not None and existing.is_running():
        if reset:
            fail(
                BrokerError(
                    "BROKER_RUNNING",
                    f"The broker in {data_dir} is running ({existing.bootstrap_servers}, pid "
                    f"{existing.pid}); stop it first: spark-enrich kafka stop --dir {data_dir}",
                    {"pid": existing.pid},
                ),
                EXIT_ENVIRONMENT,
            )
        typer.echo(f"already running: {existing.bootstrap_servers} (pid {existing.pid})")
        _print_export(existing.bootstrap_servers)
        return
    restart = not reset and (data_dir / "logs" / "meta.properties").is_file()
    try:
        broker = LocalKafkaBroker.start(data_dir, port=port, reset=reset)
    except SparkEnrichError as exc:
        fail(exc, EXIT_ENVIRONMENT)
    kept = "; its topics and records are kept (--reset to start empty)" if restart else ""
    typer.echo(
        f"started: {broker.bootstrap_servers} (pid {broker.pid}, log {broker.state.log_file}{kept})"
    )
    _print_export(broker.bootstrap_servers)


def _print_export(bootstrap_servers: str) -> None:
    # The demo pipeline reads ${KAFKA_BOOTSTRAP:-127.0.0.1:9092}; a broker on a free port is
    # found only through this variable.
    typer.echo(
        f"export {BOOTSTRAP_ENV}={bootstrap_servers}   "
        f"# pipelines name it as bootstrap_servers: ${{{BOOTSTRAP_ENV}}}"
    )


@kafka_app.command("stop")
def stop(data_dir: DirOption = DEFAULT_DIR) -> None:
    """Stop the broker started with kafka start."""
    from spark_enrich.testing.kafka import LocalKafkaBroker

    broker = LocalKafkaBroker.attach(data_dir)
    if broker is None or not broker.is_running():
        typer.echo("not running")
        return
    try:
        broker.stop()
    except SparkEnrichError as exc:
        fail(exc, EXIT_ENVIRONMENT)
    typer.echo(f"stopped (pid {broker.pid})")


@kafka_app.command("status")
def status(
    data_dir: DirOption = DEFAULT_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Say whether the broker runs, and where; exit 1 when it does not."""
    from spark_enrich.testing.kafka import LocalKafkaBroker

    broker = LocalKafkaBroker.attach(data_dir)
    running = broker is not None and broker.is_running()
    if as_json:
        info: dict[str, object] = {"running": running}
        if broker is not None and running:
            info |= {"bootstrap_servers": broker.bootstrap_servers, "pid": broker.pid}
        typer.echo(json.dumps(info))
    elif broker is not None and running:
        typer.echo(f"running: {broker.bootstrap_servers} (pid {broker.pid})")
    else:
        typer.echo("not running")
    if not running:
        raise typer.Exit(1)
