"""Helpers of the configuration tests: an in-memory executor registry and the sample folders."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from spark_enrich import Executor, executor
from spark_enrich.registry import ExecutorRegistry

HERE = Path(__file__).resolve().parent
BROKEN = HERE / "broken"
VALID = HERE / "valid"


class ClickParams(BaseModel):
    """Params of the test executor ``clicks``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_ms: int = Field(default=0, ge=0)
    label: str = "click"


def make_registry() -> ExecutorRegistry:
    """Three small executors: ``clicks`` (params, table ``pins``, service ``lang``),
    ``searches`` (no params) and ``closeups`` (shares ``pin_click`` with ``clicks``)."""
    registry = ExecutorRegistry()

    @executor(
        name="clicks",
        version="1.0.0",
        event_types=["pin_click", "pin_save"],
        params=ClickParams,
        tables=("pins",),
        services=("lang",),
        registry=registry,
    )
    class Clicks(Executor):
        """Clicks and saves."""

    @executor(name="searches", version="1.0.0", event_types=["search_query"], registry=registry)
    class Searches(Executor):
        """Searches."""

    @executor(name="closeups", version="1.0.0", event_types=["pin_click"], registry=registry)
    class Closeups(Executor):
        """Close-ups, also routed on pin_click."""

    return registry
