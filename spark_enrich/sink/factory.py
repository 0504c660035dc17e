"""Choosing the sink strategy: once, when the pipeline is compiled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spark_enrich.conform import contract_from_config
from spark_enrich.online.publish import OnlineSequences
from spark_enrich.sequence import SequenceFold
from spark_enrich.sink.append import AppendSink
from spark_enrich.sink.base import DeltaSink
from spark_enrich.sink.dedup import Redeliveries
from spark_enrich.sink.merge import MergeSink
from spark_enrich.sink.sequence import SequenceSink
from spark_enrich.tables import TableRef

if TYPE_CHECKING:
    from spark_enrich.config import PipelineConfig


def make_sink(config: PipelineConfig) -> DeltaSink:
    """The sink strategy of a validated configuration's ``sink`` section.

    Example:
        >>> sink = make_sink(load_pipeline("pipelines/demo.yaml"))  # doctest: +SKIP
        >>> type(sink).__name__  # doctest: +SKIP
        'MergeSink'
    """
    section = config.sink
    table = TableRef.of(path=section.path, table=section.table)
    contract = contract_from_config(config.output.columns, config.output.key)
    partition_by = tuple(section.partition_by)
    properties = {k: str(v) for k, v in section.properties.items()}
    dedup = (
        Redeliveries(config.decoding.event_id_field, section.dedup.window)
        if section.dedup is not None
        else None
    )
    stream = config.runtime.stream
    optimize = stream is not None and stream.optimize_write
    match section.mode:
        case "append":
            return AppendSink(
                table, contract, partition_by, properties,
                dedup=dedup, stream_optimize_write=optimize,
            )  # fmt: skip
        case "merge":
            return MergeSink(
                table, contract, partition_by, properties,
                dedup=dedup, stream_optimize_write=optimize,
            )  # fmt: skip
        case "sequence":
            spec = section.sequence
            if spec is None:  # the configuration refuses this; a direct caller gets told
                raise ValueError("sink.mode sequence needs a sink.sequence section")
            fold = SequenceFold(
                group_by=tuple(spec.group_by),
                order_by=tuple(spec.order_by),
                length=spec.length,
                column=spec.column,
                key=tuple(config.output.key),
            )
            online = (
                OnlineSequences.from_config(section.online, spec.group_by, spec.column)
                if section.online is not None
                else None
            )
            return SequenceSink(
                table,
                contract,
                partition_by,
                properties,
                fold=fold,
                online=online,
                stream_optimize_write=optimize,
            )
