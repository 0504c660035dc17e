"""Charts of a pipeline's metrics over time, drawn with matplotlib (Agg, no display needed).

Each chart is computed from the batches :func:`spark_enrich.observe.history.read_batches` reads
and keeps the series it drew, so what a picture shows can be checked against the metrics table.

Example:
    >>> from spark_enrich.observe.charts import metric_charts   # doctest: +SKIP
    >>> for chart in metric_charts(points):                      # doctest: +SKIP
    ...     print(chart.title, chart.labels)
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from spark_enrich.observe.history import BatchPoint

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SOURCE = "all executors"
"""Label of a series about the batch as a whole (the source, decode and routing included)."""


@dataclass(frozen=True)
class Series:
    """One line of a chart: a value per batch, at the batch's ``recorded_at``."""

    label: str
    times: tuple[datetime, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class Chart:
    """A rendered chart and the series it shows (in drawing order)."""

    key: str
    title: str
    unit: str
    series: tuple[Series, ...]
    png: bytes

    @property
    def labels(self) -> list[str]:
        """The labels of its series, as the legend shows them."""
        return [s.label for s in self.series]

    def caption(self) -> str:
        """One line naming what is drawn (the HTML report's caption and alt text)."""
        if not self.series:
            return f"{self.title} ({self.unit}): nothing recorded"
        points = sum(len(s.values) for s in self.series)
        return f"{self.title} ({self.unit}): {', '.join(self.labels)}; {points} points"


def _series(
    label: str, points: Iterable[BatchPoint], value: Callable[[BatchPoint], float | None]
) -> Series | None:
    pairs = [(p.recorded_at, v) for p in points if (v := value(p)) is not None]
    if not pairs:
        return None
    return Series(label, tuple(t for t, _ in pairs), tuple(float(v) for _, v in pairs))


def _executor_names(points: Sequence[BatchPoint]) -> list[str]:
    return sorted({name for p in points for name in p.executors})


def _per_executor(
    points: Sequence[BatchPoint],
    value: Callable[[BatchPoint, str], float | None],
    whole: Callable[[BatchPoint], float | None] | None = None,
) -> tuple[Series, ...]:
    def of(name: str) -> Callable[[BatchPoint], float | None]:
        return lambda p: value(p, name) if name in p.executors else None

    found = [_series(name, points, of(name)) for name in _executor_names(points)]
    if whole is not None:
        found.append(_series(SOURCE, points, whole))
    return tuple(s for s in found if s is not None)


def throughput_series(points: Sequence[BatchPoint]) -> tuple[Series, ...]:
    """Events per second: each executor's input over its batch's wall time, and the source
    rows processed per second of the batch."""

    def rate(p: BatchPoint, name: str) -> float | None:
        if not p.duration_ms:
            return None
        return p.executors[name].input * 1000 / p.duration_ms

    return _per_executor(points, rate, lambda p: p.rows_per_second)


def lag_series(points: Sequence[BatchPoint]) -> tuple[Series, ...]:
    """The source's lag (Kafka offsets or Delta versions behind), one series per runtime: the
    source is shared by every executor of a batch, so lag has no executor of its own."""
    runtimes = sorted({p.runtime for p in points if p.lag is not None})
    found = [
        _series(f"source ({runtime})", [p for p in points if p.runtime == runtime], _lag)
        for runtime in runtimes
    ]
    return tuple(s for s in found if s is not None)


def _lag(point: BatchPoint) -> float | None:
    return point.lag


def freshness_series(points: Sequence[BatchPoint]) -> tuple[Series, ...]:
    """Seconds from the newest event time written to the commit, per executor."""

    def fresh(p: BatchPoint, name: str) -> float | None:
        ms = p.executors[name].freshness_ms
        return None if ms is None else ms / 1000

    return _per_executor(points, fresh)


def dead_letter_share_series(points: Sequence[BatchPoint]) -> tuple[Series, ...]:
    """Dead letters per input event of each executor, and of the batch (decode and unrouted
    dead letters included) per source row; batches without input have no point."""

    def share(p: BatchPoint, name: str) -> float | None:
        own = p.executors[name]
        return own.dead_lettered / own.input if own.input else None

    def whole(p: BatchPoint) -> float | None:
        return p.dead_lettered / p.source_rows if p.source_rows else None

    return _per_executor(points, share, whole)


CHARTS: tuple[tuple[str, str, str, Callable[[Sequence[BatchPoint]], tuple[Series, ...]]], ...] = (
    ("throughput", "Throughput", "events/s", throughput_series),
    ("lag", "Source lag", "offsets or versions behind", lag_series),
    ("freshness", "Freshness", "seconds, commit minus newest event time", freshness_series),
    ("dead_letter_share", "Dead-letter share", "dead letters per input event",
     dead_letter_share_series),
)  # fmt: skip
"""The report's charts: key, title, unit and the function computing their series."""


def draw(title: str, unit: str, series: Sequence[Series]) -> Figure:
    """A line chart of ``series`` over time (a marker per batch: runs are often one batch)."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    # A Figure of its own, not pyplot: no global state, no GUI backend, safe in a server.
    figure = Figure(figsize=(8, 3.2), dpi=100, layout="constrained")
    axes = figure.subplots()
    axes.set_title(title)
    axes.set_ylabel(unit, fontsize="small")
    for line in series:
        axes.plot(line.times, line.values, marker="o", markersize=3, label=line.label)  # type: ignore[arg-type]
    if series:
        axes.legend(fontsize="small", loc="best")
        locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    else:
        axes.text(0.5, 0.5, "nothing recorded", ha="center", va="center",
                  transform=axes.transAxes)  # fmt: skip
    axes.grid(True, alpha=0.3)
    return figure


def png(figure: Figure) -> bytes:
    """``figure`` as PNG bytes (rendered by Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def metric_charts(points: Sequence[BatchPoint]) -> list[Chart]:
    """Every chart of :data:`CHARTS` over ``points`` (oldest first), rendered."""
    charts = []
    for key, title, unit, compute in CHARTS:
        series = compute(points)
        charts.append(Chart(key, title, unit, series, png(draw(title, unit, series))))
    return charts
