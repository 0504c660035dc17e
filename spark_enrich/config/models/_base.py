"""The base of every configuration model, and checks the models share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError


class ConfigModel(BaseModel):
    """Frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def exactly_one(model: BaseModel, first: str, second: str, code: str) -> None:
    """Raise ``code`` unless exactly one of the fields ``first`` and ``second`` is set."""
    given = [k for k in (first, second) if getattr(model, k) is not None]
    if len(given) != 1:
        found = "both" if given else "neither"
        raise PydanticCustomError(
            code,
            "give exactly one of `{first}` and `{second}` (found {found})",
            {
                "first": first,
                "second": second,
                "found": found,
                "allowed": f"`{first}` or `{second}`",
            },
        )
