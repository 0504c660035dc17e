"""The sink and metrics strategies are chosen once, when the configuration is compiled: each
``sink.mode`` and ``observability.metrics.kind`` gives its own class (no Spark needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spark_enrich.config import PipelineConfig, load_pipeline
from spark_enrich.metrics import (
    AllMetrics,
    DeltaMetrics,
    LogMetrics,
    NoMetrics,
    PrometheusMetrics,
    make_metrics,
)
from spark_enrich.sink import AppendSink, MergeSink, SequenceSink, make_sink
from spark_enrich.tables import TableRef

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, name: str, *overrides: str) -> PipelineConfig:
    env = {"SPARK_ENRICH_DEMO_DIR": str(tmp_path)}
    return load_pipeline(ROOT / "pipelines" / name, env=env, overrides=list(overrides))


@pytest.mark.parametrize(("mode", "strategy"), [("merge", MergeSink), ("append", AppendSink)])
def test_each_row_mode_compiles_to_its_strategy(
    tmp_path: Path, mode: str, strategy: type[object]
) -> None:
    config = _config(tmp_path, "demo.yaml", f"sink.mode={mode}", "sink.properties={team: ads}")
    sink = make_sink(config)
    assert type(sink) is strategy
    assert sink.table == TableRef(path=str(tmp_path / "enriched"))
    assert sink.partition_by == ("event_date",)
    assert dict(sink.properties) == {"team": "ads"}
    assert sink.contract.key == tuple(config.output.key)


def test_a_sequence_sink_carries_its_fold(tmp_path: Path) -> None:
    config = _config(tmp_path, "sequences.yaml")
    sink = make_sink(config)
    assert isinstance(sink, SequenceSink)
    spec = config.sink.sequence
    assert spec is not None
    assert (sink.fold.group_by, sink.fold.length) == (tuple(spec.group_by), spec.length)
    assert sink.fold.key == tuple(config.output.key)


def test_a_replay_writes_only_new_keys_whatever_the_mode(tmp_path: Path) -> None:
    append = make_sink(_config(tmp_path, "demo.yaml", "sink.mode=append"))
    replaying = append.insert_only()
    assert type(replaying) is MergeSink
    assert (replaying.table, replaying.contract, replaying.partition_by) == (
        append.table,
        append.contract,
        append.partition_by,
    )
    merge = make_sink(_config(tmp_path, "demo.yaml"))
    assert merge.insert_only() is merge
    # A sequence sink folds replayed events as always.
    sequences = make_sink(_config(tmp_path, "sequences.yaml"))
    assert sequences.insert_only() is sequences


def test_each_metrics_kind_compiles_to_its_strategy(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    cases = {
        "{kind: log}": LogMetrics(),
        "{kind: none}": NoMetrics(),
        f"{{kind: delta, path: {metrics}}}": DeltaMetrics(TableRef(path=str(metrics))),
        "{kind: prometheus}": PrometheusMetrics("127.0.0.1", 9464),
        "{kind: prometheus, port: 0, host: 0.0.0.0}": PrometheusMetrics("0.0.0.0", 0),
        # Several destinations at once, each in turn.
        f"[{{kind: delta, path: {metrics}}}, {{kind: prometheus, port: 9999}}, {{kind: log}}]": (
            AllMetrics(
                (
                    DeltaMetrics(TableRef(path=str(metrics))),
                    PrometheusMetrics("127.0.0.1", 9999),
                    LogMetrics(),
                )
            )
        ),
        "[{kind: none}]": NoMetrics(),
    }
    for value, expected in cases.items():
        config = _config(tmp_path, "demo.yaml", f"observability.metrics={value}")
        assert make_metrics(config) == expected
