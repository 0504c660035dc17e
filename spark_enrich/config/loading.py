"""Load and validate pipeline files: YAML -> interpolation -> overrides -> models -> rules."""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails

from spark_enrich.config.document import Document
from spark_enrich.config.locations import Sections, check_pipelines
from spark_enrich.config.models import PipelineConfig
from spark_enrich.config.models.pipeline import SECTIONS, VALID_SECTIONS, section_faults
from spark_enrich.config.problems import ConfigError, Problem
from spark_enrich.config.reading import read_document
from spark_enrich.config.rules import check_sections
from spark_enrich.config.translate import problems_from_validation_error, walk

if TYPE_CHECKING:
    from spark_enrich.registry import ExecutorRegistry

__all__ = ["check_pipeline_files", "load_pipeline", "validate_pipeline"]

# Values the reader could not build as written: reported once, not again for what it left.
_READER_VALUE_CODES = ("ENV_VAR_MISSING", "BAD_INTERPOLATION", "UNREADABLE_VALUE")


def _registry(registry: ExecutorRegistry | None) -> ExecutorRegistry:
    if registry is not None:
        return registry
    from spark_enrich.registry import default_registry

    return default_registry()


def _valid_sections(
    data: Mapping[str, Any], valid: dict[str, Any], exc: ValidationError, context: dict[str, Any]
) -> tuple[Sections, list[InitErrorDetails]]:
    """The sections the cross-field rules read, after ``data`` failed validation with ``exc``,
    and the errors of the sections' checks that the faults kept from running.

    Those that have their shape were gathered during that validation (``valid``). A section
    whose only faults are bad or unknown keys is validated again without them (the defaults
    apply; its faults were reported already), and checked, so that one typo hides none of the
    section's other problems: neither from its own checks nor from the cross-field rules.
    """
    sections: dict[str, Any] = {}
    hidden: list[InitErrorDetails] = []
    errors = exc.errors(include_url=False)
    for name in SECTIONS:
        field = PipelineConfig.model_fields[name]
        if name in valid:
            sections[name] = valid[name]
        elif name not in data:
            if not field.is_required():
                sections[name] = field.get_default(call_default_factory=True)
        else:
            own = [e for e in errors if e["loc"][:1] == (name,)]
            repaired = _repaired(name, data[name], own, context)
            if repaired is not None:
                sections[name] = repaired
                hidden += section_faults(name, repaired, (name,))
    return Sections(**sections), hidden


_REPAIR_ROUNDS = 3


@functools.cache
def _adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(PipelineConfig.model_fields[name].rebuild_annotation())


def _repaired(
    name: str, section: Any, errors: list[ErrorDetails], context: dict[str, Any]
) -> Any | None:
    """``section`` validated without the keys ``errors`` report (None when impossible)."""
    adapter = _adapter(name)
    annotation = PipelineConfig.model_fields[name].rebuild_annotation()
    faults = errors
    for _ in range(_REPAIR_ROUNDS):
        section = _without_faulty_keys(section, faults, annotation)
        if section is None:
            return None
        try:
            return adapter.validate_python(section, context=context)
        except ValidationError as exc:
            faults = [{**e, "loc": (name, *e["loc"])} for e in exc.errors(include_url=False)]
    return None


def _without_faulty_keys(section: Any, errors: list[ErrorDetails], annotation: Any) -> Any | None:
    """``section`` without the mapping keys ``errors`` report (None when an error is not about
    a present key that can be dropped: a missing key, a bad list item, the section itself).
    Each error's location starts with the section's name."""
    if not errors:
        return section
    repaired = copy.deepcopy(section)
    for error in errors:
        loc, _ = walk(annotation, tuple(error["loc"])[1:])
        if not loc or error["type"] == "missing":
            return None
        parent: Any = repaired
        for part in loc[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                return None
        if not isinstance(parent, dict) or loc[-1] not in parent:
            return None
        del parent[loc[-1]]
    return repaired


def _translated(errors: list[InitErrorDetails], doc: Document) -> list[Problem]:
    if not errors:
        return []
    exc = ValidationError.from_exception_data(PipelineConfig.__name__, errors)
    return problems_from_validation_error(exc, doc, PipelineConfig)


def _validate(
    data: Any, doc: Document, registry: ExecutorRegistry | None, base_dir: str | None
) -> tuple[PipelineConfig | None, Sections | None, list[Problem]]:
    """The model (None when invalid), the sections that passed their models, the problems.

    The configuration is validated once; only the sections that fail are looked at again.
    """
    context = {"base_dir": base_dir or str(Path.cwd())}
    valid: dict[str, Any] = {}
    try:
        config = PipelineConfig.model_validate(data, context={**context, VALID_SECTIONS: valid})
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, doc, PipelineConfig)
        if not isinstance(data, Mapping):
            return None, None, problems
        sections, hidden = _valid_sections(data, valid, exc, context)
        problems += _translated(hidden, doc)
        return None, sections, problems + check_sections(sections, doc, _registry(registry))
    sections = Sections.of(config)
    problems = check_sections(sections, doc, _registry(registry))
    return config, sections, problems


def validate_pipeline(
    config: PipelineConfig | Mapping[str, Any], registry: ExecutorRegistry | None = None
) -> list[Problem]:
    """Every problem of a configuration given as a model or as a plain dict.

    A dict is validated against the models first (relative paths resolve against the current
    directory); then the cross-field rules run. Problems carry no file position.

    Args:
        config: a :class:`PipelineConfig` or the dict a YAML file would hold.
        registry: the executor registry (default: :func:`spark_enrich.registry.default_registry`).

    Returns:
        The problems, empty when the configuration is valid.

    Example:
        >>> validate_pipeline({"name": "x"})[0].code
        'MISSING_REQUIRED'
    """
    if isinstance(config, PipelineConfig):
        doc = _document_of(config)
        # A model built without validation (model_copy(update=...)) skipped its checks.
        own = [e for name in SECTIONS for e in section_faults(name, getattr(config, name), (name,))]
        problems = _translated(own, doc)
        return problems + check_sections(Sections.of(config), doc, _registry(registry))
    doc = Document(data=config, file=None)
    return _validate(dict(config), doc, registry, None)[2]


def _document_of(config: PipelineConfig) -> Document:
    doc = config._document
    return doc if isinstance(doc, Document) else Document(data=None, file=config.source_file)


def _load(
    path: str | Path,
    overrides: Sequence[str],
    env: Mapping[str, str] | None,
    registry: ExecutorRegistry | None,
) -> tuple[PipelineConfig | None, Document, list[Problem], Sections | None]:
    doc = read_document(path, os.environ if env is None else env, overrides)
    if doc.data is None:
        return None, doc, list(doc.problems), None
    base_dir = str(Path(path).resolve().parent)
    config, sections, problems = _validate(doc.data, doc, registry, base_dir)
    if config is not None:
        config._source_file = str(path)
        config._document = doc
    # A value whose ${VAR} failed is reported once, not again for the text left in its place.
    unresolved = {p.path for p in doc.problems if p.code in _READER_VALUE_CODES}
    problems = [p for p in problems if p.path not in unresolved]
    everything = sorted(
        [*doc.problems, *problems], key=lambda p: (p.file != str(path), p.line or 0, p.column or 0)
    )
    return (config if not everything else None), doc, everything, sections


def load_pipeline(
    path: str | Path,
    overrides: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    registry: ExecutorRegistry | None = None,
) -> PipelineConfig:
    """Load, interpolate, override, resolve paths and validate a pipeline file.

    Args:
        path: the YAML file.
        overrides: ``a.b=value`` strings applied after loading (``--set`` on the command line).
        env: variables for ``${VAR}`` interpolation (default: ``os.environ``).
        registry: the executor registry (default: the process-wide one).

    Returns:
        The validated configuration; relative paths are resolved against the file's folder.

    Raises:
        ConfigError: with every problem found, in file order.

    Example:
        >>> config = load_pipeline("pipelines/demo.yaml", overrides=["sink.mode=append"])
        >>> config.sink.mode
        'append'
    """
    config, _, problems, _ = _load(path, overrides, env, registry)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def check_pipeline_files(
    paths: Sequence[str | Path],
    overrides: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    registry: ExecutorRegistry | None = None,
) -> dict[str, list[Problem]]:
    """Validate several pipeline files, each alone and against one another.

    Returns:
        file -> its problems (empty when valid), in the order given. Cross-pipeline problems
        (a shared checkpoint) are reported on the later file.
    """
    results: dict[str, list[Problem]] = {}
    loaded: list[tuple[Sections, Document, str]] = []
    for path in paths:
        _, doc, problems, sections = _load(path, overrides, env, registry)
        results[str(path)] = problems
        # Files with problems of their own are compared too, on their valid sections: fixing
        # one problem must not reveal that the sink was shared all along.
        if sections is not None:
            name = doc.data.get("name") if isinstance(doc.data, Mapping) else None
            loaded.append((sections, doc, f"{name!r} ({path})" if name else str(path)))
    for problem in check_pipelines(loaded):
        results.setdefault(problem.file or "<config>", []).append(problem)
    return results
