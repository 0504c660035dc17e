"""A whole pipeline file: :class:`PipelineConfig`."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, TypeVar

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from spark_enrich.config.models._base import ConfigModel, Faults, faults_within
from spark_enrich.config.models.observability import Observability
from spark_enrich.config.models.output import DeadLetters, OutputContract, Sink
from spark_enrich.config.models.runtime import Runtime
from spark_enrich.config.models.sections import (
    Decoding,
    Enrichments,
    ExecutorConfig,
    ServiceEnrichment,
    TableEnrichment,
)
from spark_enrich.config.models.sources import AnySource, Source
from spark_enrich.config.problems import Loc
from spark_enrich.config.types import Name


def _version_to_str(value: Any) -> Any:
    # `version: 3` is the text "3"; `version: 1.10` is the number 1.1 by the time it is here,
    # so a float stays a float and is reported (quote it) instead of silently becoming "1.1".
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


SECTIONS = (
    "sources",
    "decoding",
    "executors",
    "enrichments",
    "output",
    "sink",
    "dead_letters",
    "runtime",
    "observability",
)
"""The sections of a pipeline file that the cross-field rules read."""
VALID_SECTIONS = "valid_sections"
"""Validation-context key: a dict that receives each section that validates, by name."""


class PipelineConfig(ConfigModel):
    """A pipeline file: sources, decoding, executors, enrichments, output, sink and runtime.

    Load one with :func:`spark_enrich.config.load_pipeline`; ``model_validate`` checks the shape
    only, :func:`spark_enrich.config.validate_pipeline` also checks the cross-field rules.
    """

    name: Name = Field(description="Pipeline name: lower-case letters, digits, `_`, `-`.")
    version: Annotated[str, Field(min_length=1)] = Field(
        description="Version of this configuration (a string)."
    )
    sources: list[Source] = Field(min_length=1, description="Where events come from.")
    decoding: Decoding = Field(description="How payloads become typed events.")
    executors: list[ExecutorConfig] = Field(min_length=1, description="Executors to run.")
    enrichments: Enrichments = Field(
        default_factory=Enrichments, description="Offline tables and services."
    )
    output: OutputContract = Field(description="The output contract.")
    sink: Sink = Field(description="Where enriched records go.")
    dead_letters: DeadLetters = Field(description="Where unprocessable events go.")
    runtime: Runtime = Field(description="Stream and batch settings.")
    observability: Observability = Field(
        default_factory=Observability, description="Where metrics go."
    )

    _source_file: str | None = PrivateAttr(default=None)
    _document: Any = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _coerce_version(cls, data: Any) -> Any:
        if isinstance(data, dict) and "version" in data:
            return {**data, "version": _version_to_str(data["version"])}
        return data

    @field_validator(*SECTIONS)
    @classmethod
    def _checked_section(cls, value: Any, info: ValidationInfo) -> Any:
        # Loading asks for the sections that have their shape, for the cross-field rules:
        # gathered here, they need no second validation when another section fails.
        if isinstance(info.context, dict) and VALID_SECTIONS in info.context:
            info.context[VALID_SECTIONS][info.field_name] = value
        errors = section_faults(str(info.field_name), value)
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return value

    @property
    def source_file(self) -> str | None:
        """The YAML file this configuration was loaded from (None when built from a dict)."""
        return self._source_file

    def config_hash(self) -> str:
        """Stable sha256 of the canonical JSON of the configuration (hex)."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def source(self, name: str) -> AnySource:
        """The source called ``name``.

        Raises:
            KeyError: no such source (the message lists the known ones).
        """
        return _find(self.sources, name, "source")

    def table(self, name: str) -> TableEnrichment:
        """The offline table called ``name``.

        Raises:
            KeyError: no such table.
        """
        return _find(self.enrichments.tables, name, "table")

    def service(self, name: str) -> ServiceEnrichment:
        """The enrichment service called ``name``.

        Raises:
            KeyError: no such service.
        """
        return _find(self.enrichments.services, name, "service")


def _unique_names(
    faults: Faults, section: str, items: list[Source] | list[ExecutorConfig], at: Loc
) -> None:
    faults.unique([item.name for item in items], section.removesuffix("s"), section, at=at)


def section_faults(name: str, value: object, at: Loc = ()) -> list[InitErrorDetails]:
    """The problems the checks find in section ``name`` (a value of its shape), located from
    ``at``: those of its models, and the names its list must not repeat."""
    errors = faults_within(value, at)
    if name in ("sources", "executors") and isinstance(value, list):
        faults = Faults(name)
        _unique_names(faults, name, value, at)
        errors += faults.errors
    return errors


_T = TypeVar("_T", AnySource, TableEnrichment, ServiceEnrichment)


def _find(items: list[_T], name: str, what: str) -> _T:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"no {what} named {name!r}; declared: {sorted(i.name for i in items)}")
