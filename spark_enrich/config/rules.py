"""Cross-field rules: what no single section can check on its own.

Each rule reads the sections that validated (a section that failed its model is ``None`` and
the rules that need it are skipped), so one run reports every problem it can find.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from spark_enrich.columns import SEQUENCE_UPDATED_AT
from spark_enrich.config.ddl import ArrayType, MapType, StructType
from spark_enrich.config.document import Document
from spark_enrich.config.models import (
    Decoding,
    DeltaMetrics,
    DeltaSource,
    Enrichments,
    ExecutorConfig,
    FilesSource,
    KafkaSource,
    Observability,
    OutputColumn,
    OutputContract,
    PipelineConfig,
    Runtime,
    Sink,
    Source,
)
from spark_enrich.config.problems import Loc, Problem, close_match
from spark_enrich.config.service_calls import undeclared_service_calls
from spark_enrich.config.translate import problems_from_validation_error
from spark_enrich.config.types import location_key
from spark_enrich.errors import RegistryError

if TYPE_CHECKING:
    from spark_enrich.registry import ExecutorRegistry

__all__ = ["Sections", "check_pipelines", "check_sections"]

# Table properties Spark reserves for its own clauses: dropped silently at creation, refused
# by ALTER TABLE (Spark 4.2, CatalogV2Util.TABLE_RESERVED_PROPERTIES).
_RESERVED_TABLE_PROPERTIES = frozenset(
    {
        "collation",
        "comment",
        "external",
        "is_managed_location",
        "location",
        "owner",
        "provider",
        "table_type",
    }
)

# Options Spark's Kafka source rejects or that another key of the source already sets.
_MANAGED_KAFKA_OPTIONS = {
    "kafka.bootstrap.servers": "set `bootstrap_servers` instead",
    "kafka.auto.offset.reset": "set `starting_offsets` instead",
    "kafka.enable.auto.commit": "Spark manages offsets in the checkpoint",
    "kafka.key.deserializer": "Spark always reads keys as bytes",
    "kafka.value.deserializer": "Spark always reads values as bytes",
    "kafka.interceptor.classes": "not supported by Spark's Kafka source",
}
_DELTA_BAD_NAME_CHARS = frozenset(" ,;{}()\n\t=")
_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


@dataclass(frozen=True)
class Sections:
    """The sections of a pipeline that passed their models (None = missing or invalid)."""

    sources: list[Source] | None = None
    decoding: Decoding | None = None
    executors: list[ExecutorConfig] | None = None
    enrichments: Enrichments | None = None
    output: OutputContract | None = None
    sink: Sink | None = None
    dead_letters: Any = None
    runtime: Runtime | None = None
    observability: Observability | None = None

    @classmethod
    def of(cls, config: PipelineConfig) -> Sections:
        """All sections of a valid configuration."""
        return cls(**{name: getattr(config, name) for name in cls.__dataclass_fields__})


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
        self.unique_names()
        self.kafka_sources()
        self.table_sources()
        self.decoding_fields()
        self.executors()
        self.problems += undeclared_service_calls(self.s.executors, self.registry, self.doc)
        self.output_columns()
        self.sequence_sink()
        self.sink_properties()
        self.delta_column_names()
        self.as_of_columns()
        self.runtime()
        self.nested_paths()
        return self.problems

    def unique(
        self,
        items: Iterable[Any],
        loc: Loc,
        what: str,
        attr: str = "name",
        *,
        fold_case: bool = False,
    ) -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            name = getattr(item, attr)
            folded = name.lower() if fold_case else name
            if folded in seen:
                self.add(
                    "DUPLICATE_NAME",
                    f"{what} name {name!r} is already used by {loc[-1]}[{seen[folded]}]"
                    + (" (names are case-insensitive)" if fold_case else ""),
                    (*loc, i, attr),
                    name,
                    f"a {what} name not used before",
                )
            else:
                seen[folded] = i

    def unique_names(self) -> None:
        s = self.s
        if s.sources is not None:
            self.unique(s.sources, ("sources",), "source")
        if s.executors is not None:
            self.unique(s.executors, ("executors",), "executor")
        if s.enrichments is not None:
            self.unique(s.enrichments.tables, ("enrichments", "tables"), "table")
            self.unique(s.enrichments.services, ("enrichments", "services"), "service")
        if s.output is not None:
            # Spark resolves column names case-insensitively: `query` and `Query` are one.
            self.unique(s.output.columns, ("output", "columns"), "column", fold_case=True)

    def kafka_sources(self) -> None:
        for i, source in enumerate(self.s.sources or ()):
            if not isinstance(source, KafkaSource):
                continue
            loc: Loc = ("sources", i)
            bad = [
                h
                for h in source.bootstrap_servers.split(",")
                if not _HOST_PORT.match(h.strip())
                or not 0 < int(h.strip().rsplit(":", 1)[1]) < 65536
            ]
            if bad:
                self.add(
                    "BAD_VALUE",
                    f"bootstrap server {bad[0].strip()!r} is not host:port (port 1-65535)",
                    (*loc, "bootstrap_servers"),
                    source.bootstrap_servers,
                    "a comma-separated host:port list",
                    "127.0.0.1:9092",
                )
            if source.starting_offsets not in ("earliest", "latest"):
                try:
                    ok = isinstance(json.loads(source.starting_offsets), dict)
                except ValueError:
                    ok = False
                if not ok:
                    self.add(
                        "BAD_VALUE",
                        f"starting_offsets {source.starting_offsets!r} is neither earliest, "
                        "latest nor a JSON object of offsets",
                        (*loc, "starting_offsets"),
                        source.starting_offsets,
                        'earliest | latest | {"topic": {"0": 23}}',
                        "earliest",
                    )
            for key in source.options:
                reason = _MANAGED_KAFKA_OPTIONS.get(key)
                if not key.startswith("kafka."):
                    self.add(
                        "BAD_OPTION",
                        f"option {key!r} must start with 'kafka.' (it goes to the Kafka client)",
                        (*loc, "options", key),
                        key,
                        "kafka.<client option>",
                        f"kafka.{key}",
                        key=True,
                    )
                elif reason is not None:
                    self.add(
                        "BAD_OPTION",
                        f"option {key!r} cannot be set here: {reason}",
                        (*loc, "options", key),
                        key,
                        "any other kafka.* option",
                        key=True,
                    )

    def table_sources(self) -> None:
        for i, source in enumerate(self.s.sources or ()):
            if not isinstance(source, DeltaSource | FilesSource) or source.key_column is None:
                continue
            # Spark resolves column names case-insensitively: `Value` is the column `value`.
            if (source.payload_column or "").lower() == source.key_column.lower():
                self.add(
                    "BAD_VALUE",
                    f"key_column {source.key_column!r} is the payload column; the key is "
                    "another column of the archive (Kafka's record key, stored beside the value)",
                    ("sources", i, "key_column"),
                    source.key_column,
                    f"a column other than payload_column {source.payload_column!r}, or null",
                    "key_column: key",
                )

    def decoding_fields(self) -> None:
        decoding = self.s.decoding
        if decoding is None:
            return
        struct = decoding.struct
        names = struct.names()

        def check(value: str, loc: Loc) -> None:
            if struct.field(value) is None:
                problem = f"{value!r} is not a field of decoding.schema"
                self.not_one_of("UNKNOWN_FIELD", problem, value, names, loc)

        for attr in ("event_type_field", "event_time_field", "event_id_field"):
            check(getattr(decoding, attr), ("decoding", attr))
        for i, name in enumerate(decoding.required):
            check(name, ("decoding", "required", i))

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
            for kind, declared, needed in (
                ("table", tables, spec.tables),
                ("service", services, spec.services),
            ):
                for name in needed:
                    if declared is not None and name not in declared:
                        section = "tables" if kind == "table" else "services"
                        self.add(
                            f"UNDECLARED_{kind.upper()}",
                            f"executor {config.name!r} uses {kind} {name!r}, which "
                            f"enrichments.{section} does not declare",
                            (*loc, "name"),
                            name,
                            "declared: " + (", ".join(sorted(declared)) or "none"),
                            f"enrichments: {{{section}: [{{name: {name}, ...}}]}}",
                        )
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

    def output_column(self, name: str, loc: Loc, what: str) -> OutputColumn | None:
        """The output column ``name``; a ``NOT_IN_OUTPUT`` problem when there is none."""
        assert self.s.output is not None
        columns = {c.name: c for c in self.s.output.columns}
        if name in columns:
            return columns[name]
        problem = f"{what} {name!r} is not a column of output.columns"
        self.not_one_of("NOT_IN_OUTPUT", problem, name, list(columns), loc)
        return None

    def comparable_column(self, name: str, loc: Loc, what: str) -> None:
        """``name`` is an output column whose values can be compared (not a map)."""
        column = self.output_column(name, loc, what)
        if column is not None and isinstance(column.data_type, MapType):
            self.add(
                "BAD_KEY_COLUMN",
                f"{what} {name!r} has type {column.type}; map values cannot be compared",
                loc,
                column.type,
                "a column of a comparable type (string, date, int, struct, array, ...)",
            )

    def output_columns(self) -> None:
        output = self.s.output
        if output is None:
            return
        for i, key in enumerate(output.key):
            self.comparable_column(key, ("output", "key", i), "key column")
        if self.s.sink is not None:
            listed: set[str] = set()
            for i, name in enumerate(self.s.sink.partition_by):
                loc: Loc = ("sink", "partition_by", i)
                if name in listed:
                    self.add(
                        "DUPLICATE_NAME",
                        f"partition column {name!r} is listed twice",
                        loc,
                        name,
                        "each partition column once",
                    )
                listed.add(name)
                column = self.output_column(name, loc, "partition column")
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
        loc: Loc = ("sink", "sequence")
        for field in ("group_by", "order_by"):
            seen: set[str] = set()
            for i, name in enumerate(getattr(sequence, field)):
                if name in seen:
                    self.add(
                        "DUPLICATE_NAME",
                        f"sequence.{field} lists {name!r} twice",
                        (*loc, field, i),
                        name,
                        f"each {field} column once",
                    )
                seen.add(name)
                self.comparable_column(name, (*loc, field, i), f"sequence.{field} column")
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
        if all(name in groups for name in sequence.order_by):
            self.add(
                "BAD_VALUE",
                "every sequence.order_by column is a group_by column, constant within a "
                "sequence: it cannot order the events",
                (*loc, "order_by"),
                json.dumps(sequence.order_by),
                "a column that varies within a sequence, such as the event time",
                "order_by: [event_time]",
            )
        taken = {name.lower() for name in sequence.group_by} | {SEQUENCE_UPDATED_AT.lower()}
        if sequence.column.lower() in taken:
            self.add(
                "DUPLICATE_NAME",
                f"sequence.column {sequence.column!r} is also the name of a group_by column "
                f"or of the engine's {SEQUENCE_UPDATED_AT!r} column",
                (*loc, "column"),
                sequence.column,
                "a name other than " + ", ".join(sorted([*sequence.group_by, SEQUENCE_UPDATED_AT])),
                "events",
            )
        for i, name in enumerate(sink.partition_by):
            if name not in sequence.group_by:
                self.add(
                    "BAD_PARTITION_COLUMN",
                    f"partition column {name!r} is not a sequence.group_by column; a sequence "
                    "table holds one row per group and only group columns are left to partition "
                    "by",
                    ("sink", "partition_by", i),
                    name,
                    "one of: " + ", ".join(sequence.group_by),
                )
        if sink.retention_days is not None:
            self.add(
                "BAD_VALUE",
                "retention_days deletes rows by date; a sequence sink keeps each group's last "
                "events instead and has no dated rows",
                ("sink", "retention_days"),
                str(sink.retention_days),
                "null with mode: sequence (sequence.length bounds each sequence)",
                "retention_days: null",
            )

    def delta_column_names(self) -> None:
        output, sink = self.s.output, self.s.sink
        if output is None or sink is None:
            return
        names: list[tuple[str, Loc]] = [
            (column.name, ("output", "columns", i, "name"))
            for i, column in enumerate(output.columns)
        ]
        if sink.sequence is not None:
            names.append((sink.sequence.column, ("sink", "sequence", "column")))
        for name, loc in names:
            if "`" in name:
                # Delta's MERGE builds attribute names without escaping backticks.
                self.add(
                    "BAD_NAME",
                    f"column name {name!r} holds a backtick, which Delta's MERGE cannot name",
                    loc,
                    name,
                    "a name without backticks",
                )
        # Delta reads its `delta.` property keys in any case.
        properties = {key.lower(): value for key, value in sink.properties.items()}
        mapping = str(properties.get("delta.columnmapping.mode", "none")).lower()
        if mapping in ("name", "id"):
            return  # column mapping lifts Delta's restriction
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

    def sink_properties(self) -> None:
        sink = self.s.sink
        for key in sink.properties if sink is not None else ():
            if key.lower() in _RESERVED_TABLE_PROPERTIES:
                self.add(
                    "RESERVED_TABLE_PROPERTY",
                    f"table property {key!r} is reserved by Spark: dropped without a word "
                    "when the table is created, refused by ALTER TABLE; remove it",
                    ("sink", "properties", key),
                    key,
                    "any property except " + ", ".join(sorted(_RESERVED_TABLE_PROPERTIES)),
                    key=True,
                )

    def as_of_columns(self) -> None:
        for i, table in enumerate(self.s.enrichments.tables if self.s.enrichments else ()):
            as_of = table.as_of
            if as_of is None:
                continue
            loc: Loc = ("enrichments", "tables", i, "as_of")
            for column in ("valid_from", "valid_to"):
                name = getattr(as_of, column)
                if name is not None and name in table.keys:
                    self.add(
                        "BAD_VALUE",
                        f"as_of.{column} {name!r} is also a join key of table {table.name!r}; "
                        "a row's validity column cannot be matched against the event",
                        (*loc, column),
                        name,
                        "a table column that is not in keys: " + ", ".join(table.keys),
                    )
            if as_of.valid_to is not None and as_of.valid_to == as_of.valid_from:
                self.add(
                    "BAD_VALUE",
                    f"as_of.valid_to is the same column as as_of.valid_from ({as_of.valid_from!r})"
                    "; no event time would fall in [valid_from, valid_to)",
                    (*loc, "valid_to"),
                    as_of.valid_to,
                    f"a column other than {as_of.valid_from!r}, or null (until the next row)",
                )

    def runtime(self) -> None:
        runtime = self.s.runtime
        if runtime is None:
            return
        if runtime.stream is None and runtime.batch is None:
            self.add(
                "NO_RUNTIME",
                "runtime declares neither stream nor batch",
                ("runtime",),
                "{}",
                "runtime.stream and/or runtime.batch",
                "runtime: {batch: {source: archive, date_column: event_date}}",
            )
        if runtime.stream is not None and runtime.stream.checkpoint is None:
            self.add(
                "MISSING_CHECKPOINT",
                "a stream runtime needs a checkpoint location, unique to this pipeline",
                ("runtime", "stream"),
                "no checkpoint",
                "a path or URI",
                "checkpoint: ../demo-output/_checkpoints/demo",
            )
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
        locations = _locations(self.s)
        for a in range(len(locations)):
            for b in range(a + 1, len(locations)):
                (loc_a, path_a, write_a), (loc_b, path_b, write_b) = locations[a], locations[b]
                if not (write_a or write_b):
                    continue
                relation = _relation(path_a, path_b)
                if relation is None:
                    continue
                self.add(
                    "NESTED_PATHS",
                    f"{_fmt(loc_b)} ({_shown(path_b)}) {relation} {_fmt(loc_a)} "
                    f"({_shown(path_a)}); each table and checkpoint needs its own location",
                    loc_b,
                    _shown(path_b),
                    f"a location outside {_shown(path_a)}",
                )


def _fmt(loc: Loc) -> str:
    from spark_enrich.config.problems import format_path

    return format_path(loc)


def _locations(s: Sections) -> list[tuple[Loc, str, bool]]:
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
    if s.observability is not None and isinstance(s.observability.metrics, DeltaMetrics):
        out.append((("observability", "metrics", "path"), s.observability.metrics.path, True))
    return out


_TABLE = "table "
"""Prefix of a catalog table name among the locations (a name is never a path)."""


def _shown(location: str) -> str:
    """A location as the user wrote it (catalog names without the internal prefix)."""
    return location.removeprefix(_TABLE)


def _key(location: str) -> str:
    """Catalog names are case-insensitive; paths and URIs have one spelling each."""
    return location.lower() if location.startswith(_TABLE) else location_key(location)


def _relation(a: str, b: str) -> str | None:
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


def check_sections(s: Sections, doc: Document, registry: ExecutorRegistry) -> list[Problem]:
    """Every cross-field problem of one pipeline."""
    return _Rules(s, doc, registry).run()


def check_pipelines(pipelines: Sequence[tuple[Sections, Document, str]]) -> list[Problem]:
    """Problems between pipelines (their valid sections, document and a label naming them in
    messages): a shared checkpoint, or one's output nested in another's."""
    problems: list[Problem] = []
    written = [
        (index, loc, path)
        for index, (sections, _, _) in enumerate(pipelines)
        for loc, path, write in _locations(sections)
        if write
    ]
    for a in range(len(written)):
        for b in range(a + 1, len(written)):
            (ia, loc_a, path_a), (ib, loc_b, path_b) = written[a], written[b]
            if ia == ib:
                continue
            relation = _relation(path_a, path_b)
            if relation is None:
                continue
            both_checkpoints = loc_a[-1] == loc_b[-1] == "checkpoint"
            code = (
                "SHARED_CHECKPOINT"
                if both_checkpoints and relation.startswith("is the same")
                else "NESTED_PATHS"
            )
            problems.append(
                pipelines[ib][1].problem(
                    code,
                    f"{_fmt(loc_b)} ({_shown(path_b)}) {relation} {_fmt(loc_a)} of pipeline "
                    f"{pipelines[ia][2]}; pipelines must not share checkpoints or tables",
                    loc_b,
                    _shown(path_b),
                    f"a location outside {_shown(path_a)}",
                )
            )
    return problems
