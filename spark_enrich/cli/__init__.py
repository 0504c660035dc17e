"""The ``spark-enrich`` command line. Each command lives in its own module and registers on
:data:`spark_enrich.cli.app.app`; heavy imports (pyspark) happen inside commands only."""

from __future__ import annotations

import spark_enrich.cli.config_cmd  # noqa: F401  (registers commands)
import spark_enrich.cli.maintain_cmd as maintain_cmd  # noqa: F401  (registers commands)
import spark_enrich.cli.online_cmd as online_cmd  # noqa: F401  (registers commands)
import spark_enrich.cli.parity_cmd as parity_cmd  # noqa: F401  (registers commands)
import spark_enrich.cli.replay_cmd as replay_cmd  # noqa: F401  (registers commands)
import spark_enrich.cli.report_cmd as report_cmd  # noqa: F401  (registers commands)
import spark_enrich.cli.status_cmd as status_cmd  # noqa: F401  (registers commands)
from spark_enrich.cli import demo_cmd, kafka_cmd, package_cmd, run_cmd  # noqa: F401  (registers commands)
from spark_enrich.cli.app import app


def main() -> None:
    """Entry point of the ``spark-enrich`` console script."""
    app()
