"""``spark-enrich replay``: run dead letters through the current pipeline again after a fix,
write the successes to the sink and mark them replayed (see :mod:`spark_enrich.replay`)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_ENVIRONMENT, EXIT_RUN_FAILED, app, fail
from spark_enrich.cli.run_cmd import PipelineArg, SetOption, load, written_label
from spark_enrich.columns import Reason
from spark_enrich.errors import EnvironmentProblem, SparkEnrichError

ReasonCode = Enum("ReasonCode", {r.value: r.value for r in Reason}, type=str)  # type: ignore[misc]


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        # Python 3.10's fromisoformat does not take the 'Z' suffix.
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a time: give YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[+HH:MM] "
            "(UTC when no zone is given)",
            param_hint="--since",
        ) from None


@app.command("replay")
def replay(
    pipeline_file: PipelineArg,
    reason: Annotated[
        ReasonCode | None, typer.Option(help="Replay only dead letters with this reason.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Replay only dead letters written at or after this time (UTC)."),
    ] = None,
    overrides: SetOption = None,
) -> None:
    """Re-run the pipeline's unreplayed dead letters; mark those that no longer fail.

    Events that fail again stay unmarked (and visible); nothing is deleted. Successes go to the
    sink like any batch, so an event already in a merge sink is not added twice.
    """
    start = _parse_since(since)
    pipeline = load(pipeline_file, overrides)
    code = reason.value if reason is not None else None
    try:
        report = pipeline.replay(reason=code, since=start)
    except EnvironmentProblem as exc:
        fail(exc, EXIT_ENVIRONMENT)
    except SparkEnrichError as exc:
        fail(exc, EXIT_RUN_FAILED)
    typer.echo(
        f"pipeline {report.pipeline} replay {report.replay_run_id}: {report.selected} dead "
        f"letter(s) selected, {report.events} event(s) re-run, {report.replayed} replayed, "
        f"{report.failed_again} failed again"
    )
    if report.batch is not None:
        typer.echo(
            f"  output {report.batch.output}, filtered {report.batch.filtered}, "
            f"dead-lettered {report.batch.dead_lettered}, {written_label(pipeline)} "
            f"{report.batch.sink_rows_added}"
        )
