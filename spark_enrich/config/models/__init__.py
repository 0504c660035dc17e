"""The pipeline file as pydantic models: frozen, unknown keys forbidden, variants keyed by ``kind``.

The models check the shape of each section and each value, and each section's own rules
(``ConfigModel.check``: unique names, fields that must agree); rules that relate sections to
one another (executors against the registry, keys against the output contract, nested
paths...) live in :mod:`spark_enrich.config.rules`. Field descriptions are the configuration
reference: ``docs/configuration.md`` is generated from them.
"""

from spark_enrich.config.models._base import ConfigModel, Faults
from spark_enrich.config.models.observability import (
    DeltaMetrics,
    LogMetrics,
    Metrics,
    NoMetrics,
    Observability,
    PrometheusMetrics,
)
from spark_enrich.config.models.output import (
    DeadLetters,
    Dedup,
    OutputColumn,
    OutputContract,
    SequenceSpec,
    Sink,
    SinkMode,
)
from spark_enrich.config.models.pipeline import PipelineConfig
from spark_enrich.config.models.runtime import (
    AvailableNowTrigger,
    BatchRuntime,
    ProcessingTimeTrigger,
    Runtime,
    StreamRuntime,
    Trigger,
)
from spark_enrich.config.models.sections import (
    AsOf,
    Decoding,
    Enrichments,
    ExecutorConfig,
    ServiceEnrichment,
    TableEnrichment,
)
from spark_enrich.config.models.sources import (
    AnySource,
    DeltaSource,
    FilesSource,
    KafkaSource,
    Source,
    TableSource,
)
from spark_enrich.config.models.thresholds import Thresholds

__all__ = [
    "AnySource",
    "AsOf",
    "AvailableNowTrigger",
    "BatchRuntime",
    "ConfigModel",
    "DeadLetters",
    "Decoding",
    "Dedup",
    "DeltaMetrics",
    "DeltaSource",
    "Enrichments",
    "ExecutorConfig",
    "Faults",
    "FilesSource",
    "KafkaSource",
    "LogMetrics",
    "Metrics",
    "NoMetrics",
    "Observability",
    "OutputColumn",
    "OutputContract",
    "PipelineConfig",
    "ProcessingTimeTrigger",
    "PrometheusMetrics",
    "Runtime",
    "SequenceSpec",
    "ServiceEnrichment",
    "Sink",
    "SinkMode",
    "Source",
    "StreamRuntime",
    "TableEnrichment",
    "TableSource",
    "Thresholds",
    "Trigger",
]
