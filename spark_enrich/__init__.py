"""spark-enrich: one enrichment engine for Spark streaming, batch and backfill into Delta Lake.

The public API — everything executors and notebooks may import — is what this module exports.
Importing it does not start a JVM.
"""

from spark_enrich.context import EnrichContext
from spark_enrich.errors import (
    ExecutorContractError,
    RegistryError,
    SparkEnrichError,
)
from spark_enrich.executor import Executor, ExecutorSpec, executor
from spark_enrich.lookup import AsOfColumns, TableSpec
from spark_enrich.params import Params
from spark_enrich.pipeline import Pipeline

__version__ = "0.1.0"

__all__ = [
    "AsOfColumns",
    "EnrichContext",
    "Executor",
    "ExecutorContractError",
    "ExecutorSpec",
    "Params",
    "Pipeline",
    "RegistryError",
    "SparkEnrichError",
    "TableSpec",
    "__version__",
    "executor",
]
