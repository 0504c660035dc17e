"""``spark-enrich validate FILE...`` and ``spark-enrich schema``: config checks without a JVM.

Neither command imports pyspark itself; ``validate`` loads the executor registry, which imports
the installed executor packages to read their declarations (it never starts a Spark session).
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from spark_enrich.cli.app import EXIT_CONFIG_INVALID, app


class OutputFormat(str, Enum):
    """How ``validate`` reports."""

    text = "text"
    json = "json"


class SchemaFormat(str, Enum):
    """What ``schema`` prints."""

    json = "json"
    markdown = "markdown"


@app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Pipeline YAML files.", show_default=False)],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a value after loading: a.b[0].c=value (repeatable)."),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", help="text (each problem, then what was found and allowed) or json."
        ),
    ] = OutputFormat.text,
) -> None:
    """Check pipeline files and list their problems; exit 0 when all are valid, 2 when not.

    Problems go to stderr as FILE:LINE:COL: yaml.path: message [CODE] and an indented line
    with what was found and what is allowed; with --format json a JSON report goes to stdout
    instead. Each file lists its first 50 problems and counts the rest (problem_count in JSON).
    """
    from spark_enrich.config.loading import check_pipeline_files
    from spark_enrich.config.problems import MAX_LISTED, listed

    results = check_pipeline_files([str(f) for f in files], overrides=overrides or ())
    invalid = any(results.values())
    if output_format is OutputFormat.json:
        report = {
            "valid": not invalid,
            "files": [
                {
                    "file": file,
                    "valid": not problems,
                    "problem_count": len(problems),
                    "problems": [p.to_dict() for p in problems[:MAX_LISTED]],
                }
                for file, problems in results.items()
            ],
        }
        typer.echo(json.dumps(report, indent=2))
    else:
        for file, problems in results.items():
            if problems:
                for line in listed(problems):
                    print(line, file=sys.stderr)
            else:
                typer.echo(f"{file}: ok")
        if invalid:
            count = sum(len(p) for p in results.values())
            print(f"{count:,} problem{'s' if count != 1 else ''} found", file=sys.stderr)
    if invalid:
        raise typer.Exit(EXIT_CONFIG_INVALID)


@app.command("schema")
def schema(
    output_format: Annotated[
        SchemaFormat,
        typer.Option("--format", help="json: JSON Schema; markdown: configuration reference."),
    ] = SchemaFormat.json,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of pipeline files (for editor completion) or the Markdown reference."""
    from spark_enrich.config.reference import (
        pipeline_json_schema_text,
        pipeline_reference_markdown,
    )

    if output_format is SchemaFormat.json:
        text = pipeline_json_schema_text()
    else:
        text = pipeline_reference_markdown()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
