"""The base of every configuration model, and the means of its single-section checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from spark_enrich.config.problems import Loc, close_match


class ConfigModel(BaseModel):
    """Frozen, and unknown keys are errors; :meth:`check` adds the section's own rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def check(self, faults: Faults) -> None:
        """Add to ``faults`` the problems of this model that its shape cannot express (names
        that must be unique, fields that must agree); locations are relative to it.

        :class:`~spark_enrich.config.models.PipelineConfig` runs the checks of each section
        once the section has its shape, so that a check's problem never hides a fault of
        shape (nor the other way round: loading repairs such a section and checks it).
        """

    def shape(self) -> None:
        """Raise the model-level errors of shape (exactly one of two keys, ...)."""

    @model_validator(mode="after")
    def _shaped(self) -> ConfigModel:
        self.shape()
        return self


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


class Reporter(Protocol):
    """Where a check reports its problems: :class:`Faults` in a model, the cross-field rules."""

    def add(
        self,
        code: str,
        message: str,
        at: Loc,
        found: str,
        allowed: str,
        example: str | None = None,
        *,
        key: bool = False,
    ) -> None:
        """One problem at ``at``."""

    def not_one_of(
        self, code: str, problem: str, value: str, names: Sequence[str], at: Loc, none: str = ""
    ) -> None:
        """``problem`` with ``value``, which is none of ``names``."""


class Faults:
    """The problems a single-section check finds, raised together by :meth:`raise_any`.

    Each becomes one pydantic error located under the value being validated; its context
    carries the problem's text (``message``, ``found_text``: what was found, ``allowed``,
    ``example``, ``key``: point at the key rather than its value), which
    :func:`spark_enrich.config.translate.problems_from_validation_error` reads back verbatim.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.errors: list[InitErrorDetails] = []

    def add(
        self,
        code: str,
        message: str,
        at: Loc,
        found: str,
        allowed: str,
        example: str | None = None,
        *,
        key: bool = False,
    ) -> None:
        """One problem at ``at`` (a path relative to the value being validated)."""
        context = {"message": message, "found_text": found, "allowed": allowed, "key": key}
        if example is not None:
            context["example"] = example
        # The template is the message itself: pydantic's own rendering is not used (translate
        # reads the context), and a value quoting `{...}` must not be formatted.
        error = PydanticCustomError(code, "{message}", context)
        self.errors.append({"type": error, "loc": at, "input": found})

    def not_one_of(
        self, code: str, problem: str, value: str, names: Sequence[str], at: Loc, none: str = ""
    ) -> None:
        """``problem`` with ``value``, which is none of ``names``: the closest is suggested."""
        close = close_match(value, names)  # difflib's, without comparing a 50 MB value
        hint = f"; did you mean {close!r}?" if close else ""
        allowed = "one of: " + (", ".join(names) or none)
        self.add(code, problem + hint, at, value, allowed, close)

    def unique(
        self,
        names: Sequence[str],
        what: str,
        plural: str,
        *,
        at: Loc = (),
        fold_case: bool = False,
    ) -> None:
        """``DUPLICATE_NAME`` for each item of a list named like an earlier one (``plural`` is
        the list's key, quoted in the message)."""
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            folded = name.lower() if fold_case else name
            if folded in seen:
                self.add(
                    "DUPLICATE_NAME",
                    f"{what} name {name!r} is already used by {plural}[{seen[folded]}]"
                    + (" (names are case-insensitive)" if fold_case else ""),
                    (*at, i, "name"),
                    name,
                    f"a {what} name not used before",
                )
            else:
                seen[folded] = i

    def raise_any(self) -> None:
        """Raise every problem added, as one :class:`pydantic.ValidationError`."""
        if self.errors:
            raise ValidationError.from_exception_data(self.title, self.errors)


def faults_within(value: object, at: Loc = ()) -> list[InitErrorDetails]:
    """The :meth:`ConfigModel.check` problems of every model in ``value`` (a model, or lists and
    mappings of them), located from ``at``, inner models first."""
    errors: list[InitErrorDetails] = []
    if isinstance(value, ConfigModel):
        for name in type(value).model_fields:  # inner models first, as validation goes
            errors += faults_within(getattr(value, name), (*at, name))
        faults = Faults(type(value).__name__)
        value.check(faults)
        errors += [{**e, "loc": (*at, *e["loc"])} for e in faults.errors]
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            errors += faults_within(item, (*at, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            errors += faults_within(item, (*at, key))
    return errors
