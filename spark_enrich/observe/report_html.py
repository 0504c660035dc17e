"""The metrics report as one self-contained HTML page: no script, no external file."""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spark_enrich.observe.report import MetricsReport

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:60em;color:#222}"
    "figure{margin:1.5em 0}img{max-width:100%}figcaption{font-size:.9em;color:#555}"
    "td,th{padding:.2em .8em;text-align:right}th:first-child,td:first-child{text-align:left}"
)


def _figure(key: str, caption: str, labels: list[str], png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    text = html.escape(caption)
    series = html.escape(",".join(labels))
    return (
        f'<figure id="{key}" data-series="{series}">'
        f'<img alt="{text}" src="data:image/png;base64,{data}">'
        f"<figcaption>{text}</figcaption></figure>"
    )


def report_html(report: MetricsReport) -> str:
    """``report`` as an HTML document."""
    points = report.points
    runs = len({p.run_id for p in points})
    executors = sorted({name for p in points for name in p.executors})
    title = html.escape(f"spark-enrich report: {report.pipeline}")
    summary = (
        f"{len(points)} batches of {runs} runs, {points[0].recorded_at:%Y-%m-%d %H:%M:%S} to "
        f"{points[-1].recorded_at:%Y-%m-%d %H:%M:%S} UTC; executors: "
        f"{', '.join(executors) or 'none'}. Metrics table: {report.metrics_table}; "
        f"drawn {report.created_at:%Y-%m-%d %H:%M:%S} UTC."
    )
    figures = "\n".join(_figure(c.key, c.caption(), c.labels, c.png) for c in report.charts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head>\n<body><h1>{title}</h1>"
        f"<p>{html.escape(summary)}</p>\n{figures}\n</body></html>\n"
    )
