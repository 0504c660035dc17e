"""``spark_enrich.Params``, the base of executor params models: a YAML boolean is not a number."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field, ValidationError
from support.config import demo_registry

from spark_enrich import Params
from spark_enrich.config import ConfigError, load_pipeline

DEMO = Path(__file__).resolve().parents[2] / "pipelines" / "demo.yaml"


class Knobs(Params):
    count: int = 1
    share: float = 0.5
    limit: int | None = None
    bounded: Annotated[int, Field(ge=0)] = 0
    enabled: bool = False
    either: bool | int = 0
    sizes: list[int] = []
    weights: dict[str, float] | None = None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("count", True),
        ("share", True),
        ("limit", True),
        ("bounded", True),
        ("sizes", [1, True]),
        ("weights", {"a": 0.5, "b": False}),
    ],
)
def test_a_boolean_is_refused_where_a_number_is_expected(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        Knobs.model_validate({field: value})
    ((error),) = info.value.errors()
    assert (error["type"], error["loc"]) == ("WRONG_TYPE", (field,))


def test_numbers_and_booleans_go_where_they_belong() -> None:
    knobs = Knobs.model_validate(
        {
            "count": 3,
            "share": 1,
            "limit": None,
            "bounded": 2,
            "enabled": True,
            "either": True,
            "sizes": [1, 2],
            "weights": {"a": 1},
        }
    )
    assert (knobs.count, knobs.share, knobs.limit, knobs.bounded) == (3, 1.0, None, 2)
    assert knobs.enabled is True and knobs.either is True  # the field itself takes booleans
    assert (knobs.sizes, knobs.weights) == ([1, 2], {"a": 1.0})
    with pytest.raises(ValidationError):
        Knobs.model_validate({"cuont": 3})  # unknown keys are refused


def test_the_demo_executors_params_refuse_a_boolean_for_a_number() -> None:
    with pytest.raises(ConfigError) as info:
        load_pipeline(
            DEMO,
            overrides=["executors.engagement.params.min_closeup_ms=true"],
            env={},
            registry=demo_registry(),
        )
    (problem,) = info.value.problems
    assert (problem.code, problem.path, problem.found) == (
        "WRONG_TYPE",
        "executors[0].params.min_closeup_ms",
        "true",
    )
