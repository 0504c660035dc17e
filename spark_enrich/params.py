"""The base of executor params models."""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

__all__ = ["Params"]


def _is_number(annotation: Any) -> bool:
    """Whether a field typed ``annotation`` takes numbers but not booleans."""
    if annotation in (int, float):
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_number(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        options = get_args(annotation)
        return bool not in options and any(_is_number(a) for a in options)
    return False


def _boolean_for_number(annotation: Any, value: Any) -> bool:
    """Whether ``value`` holds a boolean where ``annotation`` expects a number, at any depth
    of lists, tuples, sets and dict values (``[true]`` for ``list[int]``)."""
    if isinstance(value, bool):
        return _is_number(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _boolean_for_number(args[0], value)
    if origin in (Union, types.UnionType):
        return bool not in args and any(_boolean_for_number(a, value) for a in args)
    if isinstance(value, (list, tuple, set, frozenset)) and args:
        if origin is tuple and args[-1] is not Ellipsis:
            return any(_boolean_for_number(a, v) for a, v in zip(args, value, strict=False))
        return any(_boolean_for_number(args[0], v) for v in value)
    if isinstance(value, dict) and len(args) == 2:
        return any(_boolean_for_number(args[1], v) for v in value.values())
    return False


class Params(BaseModel):
    """Subclass this for an executor's ``params=`` model: unknown keys are refused, the values
    are frozen, and a YAML boolean is not read as a number (pydantic's lax mode turns
    ``min_ms: true`` into 1, a setting nobody wrote)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and _boolean_for_number(field.annotation, value):
            raise PydanticCustomError(
                "WRONG_TYPE", "expected a number, found a boolean", {"allowed": "a number"}
            )
        return value
