"""The root Typer application; command modules attach their commands to it.

Nothing here imports pyspark: ``spark-enrich --help`` and ``validate`` must not start a JVM.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from spark_enrich.errors import SparkEnrichError

app = typer.Typer(
    name="spark-enrich",
    help=(
        "Enrichment engine on Spark and Delta Lake: "
        "one executor code path for stream, batch and backfill."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_CONFIG_INVALID = 2
EXIT_ENVIRONMENT = 3
EXIT_RUN_FAILED = 1


def fail(exc: SparkEnrichError, code: int = EXIT_RUN_FAILED) -> NoReturn:
    """Print a spark-enrich error without a traceback and exit with ``code``."""
    print(f"spark-enrich: {exc}", file=sys.stderr)
    raise typer.Exit(code)
