"""Error types of spark-enrich.

Every error carries a stable ``error_class`` and ``message_parameters`` so that callers and tests
can react to *what* went wrong without parsing message text (the pattern PySpark uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SparkEnrichError(Exception):
    """Base class of all spark-enrich errors.

    Args:
        error_class: stable identifier such as ``"JAVA_NOT_FOUND"``.
        message: human-readable explanation, including how to fix the problem.
        parameters: the values the message was built from.
    """

    def __init__(
        self, error_class: str, message: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"[{error_class}] {message}")
        self.error_class = error_class
        self.message = message
        self.message_parameters: dict[str, Any] = dict(parameters or {})


class EnvironmentProblem(SparkEnrichError):
    """The machine lacks something spark-enrich needs (Java, a free port, a download)."""


class BrokerError(SparkEnrichError):
    """The local Kafka broker could not be obtained, started or stopped."""


class ExecutorContractError(SparkEnrichError):
    """An executor broke its contract (e.g. a stage returned something other than a DataFrame)."""


class RegistryError(SparkEnrichError):
    """An executor could not be registered or found."""


class PipelineRunError(SparkEnrichError):
    """A pipeline run failed for a reason that is not a configuration problem."""
