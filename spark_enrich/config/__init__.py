"""Pipeline configuration: models, loading, validation, JSON Schema and reference docs.

Nothing here imports pyspark: a configuration is checked in milliseconds, before any Spark job.

Example:
    >>> from spark_enrich.config import ConfigError, load_pipeline
    >>> try:
    ...     config = load_pipeline("pipelines/demo.yaml", overrides=["sink.mode=append"])
    ... except ConfigError as exc:
    ...     print("\\n".join(p.format() for p in exc.problems))
"""

from spark_enrich.config.ddl import DDLError, parse_schema, parse_type
from spark_enrich.config.loading import check_pipeline_files, load_pipeline, validate_pipeline
from spark_enrich.config.models import PipelineConfig
from spark_enrich.config.problems import CODES, ConfigError, Problem
from spark_enrich.config.reference import pipeline_json_schema, pipeline_reference_markdown

__all__ = [
    "CODES",
    "ConfigError",
    "DDLError",
    "PipelineConfig",
    "Problem",
    "check_pipeline_files",
    "load_pipeline",
    "parse_schema",
    "parse_type",
    "pipeline_json_schema",
    "pipeline_reference_markdown",
    "validate_pipeline",
]
