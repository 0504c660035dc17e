"""Metrics benchmark (issue #20): the demo pipeline's batch run with every metrics destination
on (the Delta metrics table, a Prometheus endpoint, JSON log lines) against the same run with
metrics off (``kind: none``: no ``observe`` of event times either).

Both run in the same session on the same data, interleaved; the ratio is what to read.
"""

from __future__ import annotations

import statistics
from functools import partial
from pathlib import Path

from pyspark.sql import SparkSession

from benchmarks.common import demo_pipeline, fresh, print_table, session, timed


def run(spark: SparkSession, data: Path, metrics: str) -> None:
    """The demo pipeline's batch run with ``observability.metrics`` set to ``metrics``."""
    fresh(data / "enriched", data / "dead_letters")
    overrides = [f"observability.metrics={metrics}"]
    demo_pipeline(spark, data, overrides=overrides).run_batch()


def main(events: int, workdir: Path, repeat: int) -> None:
    """Generate ``events`` demo events and print both timings and their ratio."""
    from spark_enrich.demo.generate import write_demo_data

    spark = session()
    data = workdir / "data"
    print(f"generating {events} events under {data} ...", flush=True)
    write_demo_data(spark, data, events)
    cases = {
        "off": "{kind: none}",
        "on": f"[{{kind: delta, path: {workdir / 'metrics'}}}, {{kind: prometheus, port: 0}}, "
        "{kind: log}]",
    }
    for metrics in cases.values():  # warm the JVM on both paths before measuring
        timed(partial(run, spark, data, metrics))
    # Interleaved, so that drift on a shared machine affects both alike; medians compared.
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(repeat):
        for name, metrics in cases.items():
            samples[name].append(timed(partial(run, spark, data, metrics)))
        times = ", ".join(f"{k} {v[-1]:.2f} s" for k, v in samples.items())
        print(f"round {round_ + 1}/{repeat}: {times}", flush=True)
    t_off, t_on = (statistics.median(samples[k]) for k in ("off", "on"))
    print_table(
        f"metrics, batch run of {events} events (median of {repeat})",
        [
            ("metrics off (kind: none)", t_off, "s"),
            ("metrics on (delta + prometheus + log)", t_on, "s"),
            ("ratio on / off", t_on / t_off, "goal <= 1.03"),
        ],
    )
