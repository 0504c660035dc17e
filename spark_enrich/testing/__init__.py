"""Helpers for executor authors and for spark-enrich's own tests: :func:`run_stages`, a real
local Kafka broker, pytest fixtures and parity assertions. Nothing here is imported by the
engine's run path."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spark_enrich.testing.stages import StageOutputs, run_stages

__all__ = ["StageOutputs", "run_stages"]


def __getattr__(name: str) -> object:
    # Imported on first use: `spark-enrich kafka ...` imports this package and must not pay
    # for pyspark.
    if name in __all__:
        from spark_enrich.testing import stages

        return getattr(stages, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
