"""Cross-field rules: what no single section can check on its own (a section's own rules are
its models' :meth:`~spark_enrich.config.models.ConfigModel.check`).

The rules read the sections that have their shape (a section whose faults could not be set
aside is ``None`` and the rules that need it are skipped), so one run reports every problem it
can find.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from spark_enrich.config.ddl import ArrayType, MapType, StructType
from spark_enrich.config.document import Document
from spark_enrich.config.locations import Sections, locations, relation, shown
from spark_enrich.config.models import ExecutorConfig
from spark_enrich.config.models.output import comparable_column, output_column
from spark_enrich.config.problems import Loc, Problem, close_match, format_path
from spark_enrich.config.service_calls import undeclared_service_calls
from spark_enrich.config.translate import problems_from_validation_error
from spark_enrich.errors import RegistryError

if TYPE_CHECKING:
    from spark_enrich.registry import ExecutorRegistry

__all__ = ["check_sections"]

_DELTA_BAD_NAME_CHARS = frozenset(" ,;{}()\n\t=")


class _Rules:
    def __init__(self, s: Sections, doc: Document, registry: ExecutorRegistry) -> None:
        self.s = s
        self.doc = doc
        self.registry = registry
        self.problems: list[Problem] = []

    def add(
        self,
        code: str,
        message: str,
        loc: Loc,
        found: str,
        allowed: str,
        example: str | None = None,
        *,
        key: bool = False,
    ) -> None:
        self.problems.append(self.doc.problem(code, message, loc, found, allowed, example, key=key))

    def not_one_of(
        self, code: str, problem: str, value: str, names: Sequence[str], loc: Loc, none: str = ""
    ) -> None:
        """``problem`` with ``value``, which is none of ``names``: the closest is suggested."""
        close = close_match(value, names)  # difflib's, without comparing a 50 MB value
        hint = f"; did you mean {close!r}?" if close else ""
        allowed = "one of: " + (", ".join(names) or none)
        self.add(code, problem + hint, loc, value, allowed, close)

    def run(self) -> list[Problem]:
        self.executors()
        self.problems += undeclared_service_calls(self.s.executors, self.registry, self.doc)
        self.output_columns()
        self.sequence_sink()
        self.delta_column_names()
        self.runtime()
        self.nested_paths()
        return self.problems

    def executors(self) -> None:
        configs = self.s.executors
        if configs is None:
            return
        try:
            known = self.registry.names()
        except RegistryError as exc:
            self.add(
                "REGISTRY_ERROR",
                f"the executor registry could not be loaded: {exc.message}",
                ("executors",),
                exc.error_class,
                "an importable executor package",
            )
            return
        tables = {t.name for t in self.s.enrichments.tables} if self.s.enrichments else None
        services = {t.name for t in self.s.enrichments.services} if self.s.enrichments else None
        handlers: dict[str, list[tuple[int, ExecutorConfig]]] = defaultdict(list)
        for i, config in enumerate(configs):
            loc: Loc = ("executors", i)
            if config.name not in known:
                problem = f"no executor named {config.name!r} is registered"
                self.not_one_of(
                    "UNKNOWN_EXECUTOR", problem, config.name, known, (*loc, "name"),
                    none="(no executor registered)",
                )  # fmt: skip
                continue
            spec = self.registry.get(config.name).spec
            self.params(config, spec.params_model, loc)
            self.enrichments_used(config.name, loc, "table", tables, spec.tables)
            self.enrichments_used(config.name, loc, "service", services, spec.services)
            for event_type in spec.event_types:
                handlers[event_type].append((i, config))
            for j, shared in enumerate(config.shared_event_types):
                if shared not in spec.event_types:
                    self.add(
                        "UNUSED_SHARED_EVENT_TYPE",
                        f"executor {config.name!r} does not handle event type {shared!r}",
                        (*loc, "shared_event_types", j),
                        shared,
                        "one of: " + ", ".join(spec.event_types),
                    )
        self.event_type_conflicts(handlers)

    def enrichments_used(
        self, executor: str, loc: Loc, kind: str, declared: set[str] | None, needed: Sequence[str]
    ) -> None:
        """Each table (or service) the executor uses is declared in ``enrichments``."""
        section = "tables" if kind == "table" else "services"
        for name in needed:
            if declared is not None and name not in declared:
                self.add(
                    f"UNDECLARED_{kind.upper()}",
                    f"executor {executor!r} uses {kind} {name!r}, which "
                    f"enrichments.{section} does not declare",
                    (*loc, "name"),
                    name,
                    "declared: " + (", ".join(sorted(declared)) or "none"),
                    f"enrichments: {{{section}: [{{name: {name}, ...}}]}}",
                )

    def event_type_conflicts(self, handlers: dict[str, list[tuple[int, ExecutorConfig]]]) -> None:
        """An event type handled by several executors is declared shared by each of them."""
        for event_type, owners in handlers.items():
            if len(owners) < 2:
                continue
            undeclared = [(i, c) for i, c in owners if event_type not in c.shared_event_types]
            for i, config in undeclared:
                others = ", ".join(repr(c.name) for _, c in owners if c is not config)
                self.add(
                    "EVENT_TYPE_CONFLICT",
                    f"event type {event_type!r} is handled by {config.name!r} and {others}; "
                    "every executor sharing it must list it in shared_event_types",
                    ("executors", i, "name"),
                    event_type,
                    "each event type handled by one executor, or declared shared by all of them",
                    f"shared_event_types: [{event_type}]",
                )

    def params(self, config: ExecutorConfig, model: type[BaseModel] | None, loc: Loc) -> None:
        if model is None:
            if config.params:
                self.add(
                    "BAD_PARAMS",
                    f"executor {config.name!r} takes no params",
                    (*loc, "params"),
                    ", ".join(config.params),
                    "no params",
                )
            return
        try:
            model.model_validate(config.params)
        except ValidationError as exc:
            self.problems.extend(
                problems_from_validation_error(exc, self.doc, model, (*loc, "params"))
            )

    def output_columns(self) -> None:
        output, sink = self.s.output, self.s.sink
        if output is None or sink is None:
            return
        for i, name in enumerate(sink.partition_by):
            loc: Loc = ("sink", "partition_by", i)
            column = output_column(self, output.columns, name, loc, "partition column")
            if column is not None and isinstance(
                column.data_type, (ArrayType, MapType, StructType)
            ):
                self.add(
                    "BAD_PARTITION_COLUMN",
                    f"partition column {name!r} has type {column.type}; Delta partitions "
                    "only by atomic types",
                    loc,
                    column.type,
                    "a column of an atomic type (date, string, int, ...)",
                )

    def sequence_sink(self) -> None:
        sink, output = self.s.sink, self.s.output
        if sink is None or sink.sequence is None or output is None:
            return
        sequence = sink.sequence
        for field in ("group_by", "order_by"):
            for i, name in enumerate(getattr(sequence, field)):
                at: Loc = ("sink", "sequence", field, i)
                comparable_column(self, output.columns, name, at, f"sequence.{field} column")
        groups = set(sequence.group_by)
        if all(name in groups for name in output.key):
            self.add(
                "BAD_VALUE",
                "every output.key column is a sequence.group_by column: events of a sequence "
                "could not be told apart, and each sequence would keep one arbitrary event",
                ("output", "key"),
                json.dumps(output.key),
                "a key with a column outside group_by, such as the event id",
                "key: [event_id]",
            )

    def delta_column_names(self) -> None:
        output, sink = self.s.output, self.s.sink
        if output is None or sink is None:
            return
        # Delta reads its `delta.` property keys in any case.
        properties = {key.lower(): value for key, value in sink.properties.items()}
        mapping = str(properties.get("delta.columnmapping.mode", "none")).lower()
        if mapping in ("name", "id"):
            return  # column mapping lifts Delta's restriction
        names: list[tuple[str, Loc]] = [
            (column.name, ("output", "columns", i, "name"))
            for i, column in enumerate(output.columns)
        ]
        if sink.sequence is not None:
            names.append((sink.sequence.column, ("sink", "sequence", "column")))
        for name, loc in names:
            bad = sorted({ch for ch in name if ch in _DELTA_BAD_NAME_CHARS})
            if bad:
                shown = ", ".join(repr(ch) for ch in bad)
                self.add(
                    "BAD_NAME",
                    f"column name {name!r} holds {shown}, which a Delta table refuses "
                    "without column mapping",
                    loc,
                    name,
                    "a name without space or any of ,;{}()= (or set the sink property "
                    "delta.columnMapping.mode: name)",
                )

    def runtime(self) -> None:
        runtime = self.s.runtime
        if runtime is None:
            return
        if runtime.batch is not None and self.s.sources is not None:
            names = [source.name for source in self.s.sources]
            if runtime.batch.source not in names:
                value = runtime.batch.source
                problem = f"runtime.batch.source {value!r} names no declared source"
                self.not_one_of(
                    "UNDECLARED_SOURCE", problem, value, names, ("runtime", "batch", "source")
                )
            self.batch_date_column()

    def batch_date_column(self) -> None:
        """``runtime.batch.date_column`` names the output's date column; with a batch source
        that selects dates on a date column of its own, a name that is not an output column
        would select nothing at all."""
        runtime, output, sources = self.s.runtime, self.s.output, self.s.sources
        if runtime is None or runtime.batch is None or output is None or sources is None:
            return
        value = runtime.batch.date_column
        own = next(
            (getattr(s, "date_column", None) for s in sources if s.name == runtime.batch.source),
            None,
        )
        outputs = [c.name for c in output.columns]
        if own is None or value.lower() in {own.lower(), *(c.lower() for c in outputs)}:
            return
        dates = [c.name for c in output.columns if c.type.lower() in ("date", "timestamp")]
        self.not_one_of(
            "DATE_COLUMN_CONFLICT",
            f"runtime.batch.date_column {value!r} is not an output column, and the batch "
            f"source {runtime.batch.source!r} selects its dates on its own date_column "
            f"{own!r}: it names neither the source's date nor the output's (the range a "
            "backfill replaces)",
            value,
            dates or outputs,
            ("runtime", "batch", "date_column"),
        )

    def nested_paths(self) -> None:
        places = locations(self.s)
        for a in range(len(places)):
            for b in range(a + 1, len(places)):
                (loc_a, path_a, write_a), (loc_b, path_b, write_b) = places[a], places[b]
                if not (write_a or write_b):
                    continue
                how = relation(path_a, path_b)
                if how is None:
                    continue
                self.add(
                    "NESTED_PATHS",
                    f"{format_path(loc_b)} ({shown(path_b)}) {how} {format_path(loc_a)} "
                    f"({shown(path_a)}); each table and checkpoint needs its own location",
                    loc_b,
                    shown(path_b),
                    f"a location outside {shown(path_a)}",
                )


def check_sections(s: Sections, doc: Document, registry: ExecutorRegistry) -> list[Problem]:
    """Every cross-field problem of one pipeline."""
    return _Rules(s, doc, registry).run()
