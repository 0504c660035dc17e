"""``spark-enrich package``: the workers' Python environment as one archive for
``spark-submit --archives``, and the command lines that use it (see
:mod:`spark_enrich.packaging`)."""

from __future__ import annotations

import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_ENVIRONMENT, app, fail
from spark_enrich.errors import SparkEnrichError

_log = logging.getLogger(__name__)


class RunMode(str, Enum):
    """The ``run --mode`` of the printed command lines."""

    batch = "batch"
    stream = "stream"


@app.command("package")
def package(
    pipeline: Annotated[
        str,
        typer.Argument(help="The pipeline file the printed command lines run.", show_default=False),
    ] = "PIPELINE.yaml",
    output: Annotated[Path, typer.Option("--output", "-o", help="The archive to write.")] = Path(
        "env.tar.gz"
    ),
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            help="The Python on the cluster's nodes, of this minor version, that the "
            "archive's bin/python links to (default: the one this environment was made from).",
            show_default=False,
        ),
    ] = None,
    mode: Annotated[
        RunMode, typer.Option("--mode", help="The run mode of the printed command lines.")
    ] = RunMode.batch,
) -> None:
    """Pack the engine, the installed executor packages and their dependencies (not pyspark:
    the cluster has it) into a virtual-environment archive for spark-submit --archives, and
    print the spark-submit lines for a standalone, YARN and Kubernetes cluster.

    The nodes need the same Python at the same path (see --python) on the same platform."""
    import spark_enrich
    from spark_enrich.jars import resolve_jars
    from spark_enrich.packaging import pack_environment, submit_commands
    from spark_enrich.session import LOG4J_CONFIG, delta_package, kafka_package

    try:
        packed = pack_environment(output, python=python)
        jars = resolve_jars([delta_package(), kafka_package()])
    except SparkEnrichError as exc:
        fail(exc, EXIT_ENVIRONMENT)
    _log.info("packed: %s", ", ".join(packed.distributions))
    size = packed.path.stat().st_size / 2**20
    typer.echo(
        f"packed {len(packed.distributions)} distributions ({packed.files} files) into "
        f"{packed.path} ({size:.1f} MiB); the workers run {packed.python}, which every node "
        "needs at that path (-v lists the distributions)"
    )
    lines = submit_commands(
        packed.path,
        jars=jars,
        log4j=LOG4J_CONFIG,
        main=str(Path(spark_enrich.__file__).with_name("__main__.py")),
        driver_python=sys.executable,
        pipeline=pipeline,
        args=f"--mode {mode.value}",
    )
    titles = {
        "standalone": "standalone master (client mode: the driver runs here)",
        "yarn": "YARN (cluster mode: the pipeline file is shipped with --files)",
        "kubernetes": "Kubernetes (cluster mode: the archive is uploaded to the upload path)",
    }
    for cluster, line in lines.items():
        typer.echo(f"\n# {titles[cluster]}\n{line}")
