"""Helpers of the configuration tests: their executors in an isolated registry and the sample
folders. Importing it does not import pyspark (a test checks that validation needs none)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from spark_enrich import Executor, executor
from spark_enrich.registry import ExecutorRegistry
from support.registry import isolated_registry

TESTS = Path(__file__).resolve().parents[1]
BROKEN = TESTS / "config" / "broken"
VALID = TESTS / "config" / "valid"


class ClickParams(BaseModel):
    """Params of the test executor ``clicks``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_ms: int = Field(default=0, ge=0)
    label: str = "click"


def declare_test_executors(registry: ExecutorRegistry) -> None:
    """Declare ``clicks`` (params, table ``pins``, service ``lang``), ``searches`` (no params)
    and ``closeups`` (shares ``pin_click`` with ``clicks``) in ``registry``."""

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


def make_registry() -> ExecutorRegistry:
    """An isolated registry with the three test executors of :func:`declare_test_executors`."""
    return isolated_registry(declare_test_executors)


def declare_demo_stubs(registry: ExecutorRegistry) -> None:
    """Stand-ins for the repo's example executors (``spark_enrich_examples``): same names,
    event types and tables."""
    for name, event_types, tables in (
        ("engagement", ["pin_click", "pin_save", "pin_closeup"], ("pins", "users")),
        ("search", ["search_query"], ("users",)),
        ("impressions", ["pin_impression"], ("pins",)),
    ):
        if name in registry:
            continue
        stub = type(name.title(), (Executor,), {"__doc__": f"Stand-in for {name}."})
        executor(
            name=name, version="0.0.0", event_types=event_types, tables=tables, registry=registry
        )(stub)


def demo_registry() -> ExecutorRegistry:
    """The default registry when the repo's executors load; else one with stand-ins."""
    from spark_enrich.registry import default_registry

    registry = default_registry()
    try:
        if "engagement" in registry:
            return registry
    except Exception:  # the executors package is broken or absent: fall back below
        pass
    return isolated_registry(declare_demo_stubs)
