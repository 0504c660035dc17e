"""The root Typer application; command modules attach their commands to it.

Nothing here imports pyspark: ``spark-enrich --help`` and ``validate`` must not start a JVM.
"""

from __future__ import annotations

import logging
import os
import sys
from enum import Enum
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from spark_enrich.errors import SparkEnrichError

EXIT_CONFIG_INVALID = 2
EXIT_ENVIRONMENT = 3
EXIT_RUN_FAILED = 1
# sysexits.h EX_USAGE: a wrong command line is not an invalid pipeline (2), so scripts can tell.
EXIT_USAGE = 64

LOG_LEVEL_ENV = "SPARK_ENRICH_LOG_LEVEL"

# click's UsageError, wherever this typer takes click from (newer typers vendor it as typer._click).
_UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


class _UsageErrorExit(TyperGroup):
    """The root group: every usage error (unknown option, missing or bad argument) of any
    command exits with :data:`EXIT_USAGE` instead of click's 2. Subcommands are parsed and run
    inside the root group's ``invoke``, so these two methods see all of them."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _UsageError as exc:
            exc.exit_code = EXIT_USAGE  # type: ignore[attr-defined]
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _UsageError as exc:
            exc.exit_code = EXIT_USAGE  # type: ignore[attr-defined]
            raise


app = typer.Typer(
    name="spark-enrich",
    cls=_UsageErrorExit,
    help=(
        "Enrichment engine on Spark and Delta Lake: "
        "one executor code path for stream, batch and backfill. Quiet by default (warnings "
        "and errors only): -v or --log-level for more."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class LogLevel(str, Enum):
    """Levels for ``--log-level`` (Spark's log4j names; Python logging maps WARN to WARNING)."""

    ERROR = "ERROR"
    WARN = "WARN"
    INFO = "INFO"
    DEBUG = "DEBUG"


def installed_version() -> str:
    """The installed distribution's version (what ``--version`` prints)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("spark-enrich")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"spark-enrich {installed_version()}")
        raise typer.Exit()


def configure_logging(level: str) -> None:
    """Python logging for the CLI at ``level``; py4j stays at WARNING (its INFO is per call)."""
    python_level = "WARNING" if level == "WARN" else level
    # A no-op when the host process has configured logging already (tests, embedding code).
    logging.basicConfig(
        level=python_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("py4j").setLevel(logging.WARNING)


@app.callback()
def root(
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            case_sensitive=False,
            help="Log level of the engine and of Spark (default WARN, or "
            f"{LOG_LEVEL_ENV}). At INFO and below the jar resolution report is shown too.",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="Same as --log-level INFO; -vv for DEBUG.",
        ),
    ] = 0,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Options of spark-enrich itself, before the command: log level and version."""
    if log_level is not None:
        chosen: str | None = log_level.value
    elif verbose:
        chosen = "INFO" if verbose == 1 else "DEBUG"
    else:
        chosen = None
    if chosen is not None:
        # get_spark() reads it: the JVM's log4j level and whether Ivy's report is shown.
        os.environ[LOG_LEVEL_ENV] = chosen
    env_level = os.environ.get(LOG_LEVEL_ENV, "WARN").upper()
    configure_logging(env_level if env_level in LogLevel.__members__ else "WARN")


def fail(exc: SparkEnrichError, code: int = EXIT_RUN_FAILED) -> NoReturn:
    """Print a spark-enrich error without a traceback and exit with ``code``."""
    print(f"spark-enrich: {exc}", file=sys.stderr)
    raise typer.Exit(code)
