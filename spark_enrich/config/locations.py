"""Where a pipeline reads and writes: its locations, and the rule that no two it writes (nor
two pipelines write) share or nest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spark_enrich.config.document import Document
from spark_enrich.config.models import (
    DeadLetters,
    Decoding,
    DeltaMetrics,
    DeltaSource,
    Enrichments,
    ExecutorConfig,
    FilesSource,
    Observability,
    OutputContract,
    PipelineConfig,
    Runtime,
    Sink,
    Source,
)
from spark_enrich.config.problems import Loc, Problem, format_path
from spark_enrich.config.types import location_key

__all__ = ["Sections", "check_pipelines", "locations", "relation", "shown"]


@dataclass(frozen=True)
class Sections:
    """The sections of a pipeline that passed their models (None = missing or invalid)."""

    sources: list[Source] | None = None
    decoding: Decoding | None = None
    executors: list[ExecutorConfig] | None = None
    enrichments: Enrichments | None = None
    output: OutputContract | None = None
    sink: Sink | None = None
    dead_letters: DeadLetters | None = None
    runtime: Runtime | None = None
    observability: Observability | None = None

    @classmethod
    def of(cls, config: PipelineConfig) -> Sections:
        """All sections of a valid configuration."""
        return cls(**{name: getattr(config, name) for name in cls.__dataclass_fields__})


def locations(s: Sections) -> list[tuple[Loc, str, bool]]:
    """(loc, path or catalog table name, written by the pipeline?) of every location."""
    out: list[tuple[Loc, str, bool]] = []

    def add(loc: Loc, holder: object, write: bool) -> None:
        for key in ("path", "table"):
            value = getattr(holder, key, None)
            if value is not None:
                out.append(((*loc, key), value if key == "path" else _TABLE + value, write))

    for i, source in enumerate(s.sources or ()):
        if isinstance(source, (DeltaSource, FilesSource)):
            add(("sources", i), source, False)
    if s.enrichments is not None:
        for i, table in enumerate(s.enrichments.tables):
            add(("enrichments", "tables", i), table, False)
    if s.sink is not None:
        add(("sink",), s.sink, True)
    if s.dead_letters is not None:
        add(("dead_letters",), s.dead_letters, True)
    if s.runtime is not None and s.runtime.stream is not None and s.runtime.stream.checkpoint:
        out.append((("runtime", "stream", "checkpoint"), s.runtime.stream.checkpoint, True))
    if s.observability is not None:
        listed = isinstance(s.observability.metrics, list)
        for i, metrics in enumerate(s.observability.destinations()):
            if isinstance(metrics, DeltaMetrics):
                loc = ("observability", "metrics", *((i,) if listed else ()), "path")
                out.append((loc, metrics.path, True))
    return out


_TABLE = "table "
"""Prefix of a catalog table name among the locations (a name is never a path)."""


def shown(location: str) -> str:
    """A location as the user wrote it (catalog names without the internal prefix)."""
    return location.removeprefix(_TABLE)


def _key(location: str) -> str:
    """Catalog names are case-insensitive; paths and URIs have one spelling each."""
    return location.lower() if location.startswith(_TABLE) else location_key(location)


def relation(a: str, b: str) -> str | None:
    """How location ``b`` relates to ``a`` (``lies inside``...); None when they are apart."""
    a_norm, b_norm = _key(a), _key(b)
    if a_norm.startswith(_TABLE) or b_norm.startswith(_TABLE):
        return "is the same table as" if a_norm == b_norm else None
    if a_norm == b_norm:
        return "is the same location as"
    if b_norm.startswith(a_norm + "/"):
        return "lies inside"
    if a_norm.startswith(b_norm + "/"):
        return "contains"
    return None


def check_pipelines(pipelines: Sequence[tuple[Sections, Document, str]]) -> list[Problem]:
    """Problems between pipelines (their valid sections, document and a label naming them in
    messages): a shared checkpoint, or one's output nested in another's."""
    problems: list[Problem] = []
    written = [
        (index, loc, path)
        for index, (sections, _, _) in enumerate(pipelines)
        for loc, path, write in locations(sections)
        if write
    ]
    for a in range(len(written)):
        for b in range(a + 1, len(written)):
            (ia, loc_a, path_a), (ib, loc_b, path_b) = written[a], written[b]
            if ia == ib:
                continue
            how = relation(path_a, path_b)
            if how is None:
                continue
            both_checkpoints = loc_a[-1] == loc_b[-1] == "checkpoint"
            code = (
                "SHARED_CHECKPOINT"
                if both_checkpoints and how.startswith("is the same")
                else "NESTED_PATHS"
            )
            problems.append(
                pipelines[ib][1].problem(
                    code,
                    f"{format_path(loc_b)} ({shown(path_b)}) {how} {format_path(loc_a)} of "
                    f"pipeline {pipelines[ia][2]}; pipelines must not share checkpoints or tables",
                    loc_b,
                    shown(path_b),
                    f"a location outside {shown(path_a)}",
                )
            )
    return problems
