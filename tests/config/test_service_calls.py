"""``validate`` reads an executor's source: a ``ctx.call_service`` of a service that the executor
does not declare in ``@executor(services=...)`` is a configuration problem
(``UNDECLARED_SERVICE_CALL``), not a failure after Spark started."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import DataFrame
from support.config import VALID, ClickParams
from support.registry import isolated_registry

from spark_enrich import EnrichContext, Executor, executor
from spark_enrich.config import ConfigError, load_pipeline
from spark_enrich.config.service_calls import service_calls
from spark_enrich.registry import ExecutorRegistry

BASE = VALID / "base.yaml"


class SpellingBase(Executor):
    """A base class of the team's executors: its call counts for every subclass."""

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        return ctx.call_service(name="spell", df=df)


def _registry(
    *, clicks_services: tuple[str, ...], searches_services: tuple[str, ...]
) -> ExecutorRegistry:
    registry = isolated_registry()

    @executor(
        name="clicks", version="1.0.0", event_types=["pin_click"], params=ClickParams,
        tables=("pins",), services=clicks_services, registry=registry,
    )  # fmt: skip
    class Clicks(Executor):
        """Calls lang and geo, and a service named at run time (not checked)."""

        def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
            df = ctx.call_service("lang", df)
            chosen = "geo" if df.isStreaming else "lang"
            return ctx.call_service("geo", ctx.call_service(chosen, df))

    @executor(
        name="searches", version="1.0.0", event_types=["search_query"],
        services=searches_services, registry=registry,
    )  # fmt: skip
    class Searches(SpellingBase):
        """Inherits the spelling call."""

    return registry


def test_a_call_of_an_undeclared_service_is_found_where_the_pipeline_names_the_executor() -> None:
    registry = _registry(clicks_services=("lang",), searches_services=())
    with pytest.raises(ConfigError) as failed:
        load_pipeline(BASE, env={}, registry=registry)

    found = [p for p in failed.value.problems if p.code == "UNDECLARED_SERVICE_CALL"]
    assert [(p.path, p.found) for p in found] == [
        ("executors[0].name", "geo"),
        ("executors[1].name", "spell"),
    ]
    geo = found[0]
    source = Path(__file__).read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(source, 1) if 'call_service("geo"' in text)
    assert f"test_service_calls.py:{line}" in geo.message
    assert "'clicks' calls service 'geo'" in geo.message
    assert geo.allowed == "declared: lang"
    assert geo.example == '@executor(name="clicks", ..., services=["geo"])'
    assert found[1].allowed == "declared: none"


def test_declared_services_pass_and_computed_names_are_not_guessed() -> None:
    registry = _registry(clicks_services=("lang", "geo"), searches_services=("spell",))
    # base.yaml declares only `lang` in enrichments.services: the pipeline-level rule
    # (UNDECLARED_SERVICE) stays the one that reports geo and spell there.
    with pytest.raises(ConfigError) as failed:
        load_pipeline(BASE, env={}, registry=registry)
    codes = {p.code for p in failed.value.problems}
    assert "UNDECLARED_SERVICE_CALL" not in codes
    assert codes == {"UNDECLARED_SERVICE"}
    assert [c.service for c in service_calls(registry.get("clicks"))] == ["lang", "geo"]
