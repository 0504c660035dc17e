"""Compile a validated configuration into typed engine components: the sources, the decode spec,
the executors bound to their enrichment context, the output contract, sink and dead letters.

This is the one place that looks at the configuration's ``kind`` discriminators: everything
after it works on the compiled components."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from spark_enrich.config import models
from spark_enrich.config.types import parse_instant
from spark_enrich.conform import OutputContract
from spark_enrich.context import EnrichContext
from spark_enrich.deadletters import DeadLetterTable
from spark_enrich.decode import DecodeSpec, parse_schema
from spark_enrich.errors import PipelineRunError
from spark_enrich.executing import BoundExecutor
from spark_enrich.lookup import AsOfColumns, TableSpec
from spark_enrich.metrics import MetricsSink, make_metrics
from spark_enrich.registry import ExecutorRegistry, default_registry
from spark_enrich.services import make_service_call
from spark_enrich.sink import DeltaSink, make_sink, user_metadata
from spark_enrich.snapshots import OfflineTable, SnapshotStore
from spark_enrich.sources import DeltaSource, FilesSource, KafkaSource, Source
from spark_enrich.tables import TableRef

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_enrich.config import PipelineConfig
    from spark_enrich.config.models import TableEnrichment


@dataclass
class CompiledPipeline:
    """A pipeline ready to process batches on one Spark session."""

    spark: SparkSession
    config: PipelineConfig
    decode_spec: DecodeSpec
    executors: list[BoundExecutor]
    contract: OutputContract
    sink: DeltaSink
    dead_letters: DeadLetterTable
    metrics: MetricsSink
    sources: dict[str, Source] = field(default_factory=dict)
    snapshots: SnapshotStore | None = None
    """The offline tables' snapshots (every batch calls :meth:`SnapshotStore.refresh`)."""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def name(self) -> str:
        return self.config.name

    def source(self, name: str | None = None) -> Source:
        """The source ``name``; by default the batch source (``runtime.batch.source``, else the
        first source).

        Raises:
            KeyError: no source has that name (a validated configuration names only its own).
        """
        if name is None:
            batch = self.config.runtime.batch
            name = batch.source if batch else self.config.sources[0].name
        return self.sources[self.config.source(name).name]

    def stream_source(self, name: str | None = None) -> Source:
        """The source ``name``, by default the first one that can be streamed.

        Raises:
            PipelineRunError: ``SOURCE_NOT_STREAMABLE`` when there is none, or ``name`` is not.
        """
        if name is not None:
            found = self.source(name)
            if not found.streamable:
                raise found.not_streamable()
            return found
        for source in self.sources.values():
            if source.streamable:
                return source
        raise PipelineRunError(
            "SOURCE_NOT_STREAMABLE", f"Pipeline {self.name!r} has no kafka or delta source", {}
        )

    def commit_metadata(self, **extra: object) -> str:
        """The ``userMetadata`` of this pipeline's Delta commits; with offline tables, the
        Delta version of each snapshot the batch joined (``tables``), so it can be rerun."""
        tables = self.snapshots.versions() if self.snapshots is not None else {}
        if tables:
            extra = {"tables": tables, **extra}
        return user_metadata(
            self.config.name,
            self.config.config_hash(),
            [(b.name, b.version) for b in self.executors],
            run_id=self.run_id,
            **extra,
        )


def compile_source(
    config: models.AnySource,
    *,
    default_date_column: str | None = None,
) -> Source:
    """The :class:`~spark_enrich.sources.Source` strategy of one configured source.

    Args:
        config: the source's configuration.
        default_date_column: what a table source without its own ``date_column`` selects dates
            on (``runtime.batch.date_column``).
    """
    if isinstance(config, models.KafkaSource):
        return KafkaSource(config)
    if isinstance(config, models.DeltaSource):
        return DeltaSource(config, default_date_column=default_date_column)
    return FilesSource(config, default_date_column=default_date_column)


def _offline_table(table: TableEnrichment) -> OfflineTable:
    # ``every_batch`` is the one refresh that is not a duration.
    refresh = table.refresh if isinstance(table.refresh, timedelta) else None
    return OfflineTable(
        table.name, TableRef.of(path=table.path, table=table.table), _table_spec(table), refresh
    )


def _table_spec(table: TableEnrichment) -> TableSpec:
    as_of = table.as_of
    return TableSpec(
        keys=tuple(table.keys),
        as_of=AsOfColumns(as_of.event_time, as_of.valid_from, as_of.valid_to) if as_of else None,
        broadcast=table.broadcast,
    )


def compile_pipeline(
    config: PipelineConfig,
    spark: SparkSession,
    *,
    registry: ExecutorRegistry | None = None,
    run_id: str | None = None,
) -> CompiledPipeline:
    """Instantiate the executors and engine parts of a validated configuration."""
    registry = registry or default_registry()
    decoding = config.decoding
    spec = DecodeSpec(
        schema=parse_schema(decoding.schema),
        event_type_field=decoding.event_type_field,
        event_time_field=decoding.event_time_field,
        event_id_field=decoding.event_id_field,
        required=tuple(decoding.required),
        event_time_format=decoding.event_time_format,
        max_payload_bytes=decoding.max_payload_bytes,
        event_time_min=(
            parse_instant(decoding.event_time_min) if decoding.event_time_min is not None else None
        ),
        max_future=decoding.event_time_max_ahead,
    )
    classes = [registry.get(ex_cfg.name) for ex_cfg in config.executors]
    joined = {name for cls in classes for name in cls.spec.tables}
    snapshots = SnapshotStore(
        spark, [_offline_table(config.table(name)) for name in sorted(joined)]
    )
    bound = []
    for ex_cfg, cls in zip(config.executors, classes, strict=True):
        params_model = cls.spec.params_model
        params = params_model.model_validate(ex_cfg.params) if params_model else None
        services = {name: make_service_call(config.service(name)) for name in cls.spec.services}
        context = EnrichContext.from_snapshots(
            snapshots, cls.spec.tables, services, executor=cls.spec.name
        )
        bound.append(BoundExecutor(cls(params), context))
    sink = make_sink(config)
    compiled = CompiledPipeline(
        spark=spark,
        config=config,
        decode_spec=spec,
        executors=bound,
        contract=sink.contract,
        sink=sink,
        dead_letters=DeadLetterTable(
            TableRef.of(path=config.dead_letters.path, table=config.dead_letters.table)
        ),
        metrics=make_metrics(config),
        sources=_sources(config),
        snapshots=snapshots,
    )
    if run_id:
        compiled.run_id = run_id
    return compiled


def _sources(config: PipelineConfig) -> dict[str, Source]:
    batch = config.runtime.batch
    date_column = batch.date_column if batch else None
    return {s.name: compile_source(s, default_date_column=date_column) for s in config.sources}
