"""Streaming runtime: ``readStream`` of a Kafka topic or Delta table, each micro-batch handed to
:func:`~spark_enrich.process.process_batch` from ``foreachBatch`` — the same function batch and
backfill use. Writes are idempotent per micro-batch (Delta ``txnAppId``/``txnVersion``), so a
crash and restart from the checkpoint leaves no duplicate and no gap.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from pyspark.errors import StreamingQueryException

from spark_enrich.accounting import BatchReport, RunReport
from spark_enrich.config import models
from spark_enrich.delta_commit import Txn
from spark_enrich.errors import PipelineRunError
from spark_enrich.metrics import NoMetrics
from spark_enrich.metrics.lag import LagListener
from spark_enrich.observe.liveness import CheckpointHold, hold_checkpoint
from spark_enrich.policy import STREAMING
from spark_enrich.process import process_batch
from spark_enrich.runtime.checkpoint import check_checkpoint, txn_app_id
from spark_enrich.runtime.failure import BatchFailure, explain
from spark_enrich.session import session_settings
from spark_enrich.sink.dedup import STREAM_SETTINGS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

    from spark_enrich.plan import CompiledPipeline
    from spark_enrich.sources import Source

log = logging.getLogger(__name__)


def processing_interval(trigger: models.AvailableNowTrigger | models.ProcessingTimeTrigger) -> str:
    """Spark's ``processingTime`` of a trigger, in whole milliseconds (``500ms`` stays 500 ms;
    ``available_now`` configured but overridden falls back to 10 seconds)."""
    if not isinstance(trigger, models.ProcessingTimeTrigger):
        return "10 seconds"
    millis = max(1, round(trigger.interval.total_seconds() * 1000))
    return f"{millis} milliseconds"


REPORTS_KEPT = 1000
"""Micro-batch reports a stream lists; older ones are folded into its run's totals."""


@dataclass
class StreamRun:
    """A running (or finished) stream and the report of its micro-batches."""

    query: StreamingQuery
    run_report: RunReport
    source: Source
    checkpoint: str
    stop_requested: threading.Event = field(default_factory=threading.Event)
    batch_failures: list[BatchFailure] = field(default_factory=list)
    hold: CheckpointHold | None = None
    """This process's lock on the checkpoint: ``spark-enrich status`` sees the stream run."""
    lag: LagListener | None = None
    """Feeds the source lag to the metrics (None: metrics are off)."""

    @property
    def reports(self) -> list[BatchReport]:
        """The latest micro-batches' reports (at most :data:`REPORTS_KEPT`)."""
        return self.run_report.batches

    def report(self) -> RunReport:
        """The run's report: totals over every micro-batch, the latest ones listed."""
        return self.run_report


def start_stream(
    plan: CompiledPipeline,
    *,
    source: str | None = None,
    available_now: bool | None = None,
) -> StreamRun:
    """Start the stream and return at once.

    Args:
        plan: the compiled pipeline.
        source: the source to stream (default: the first Kafka or Delta source).
        available_now: override the configured trigger: drain what is there and stop.
    """
    config = plan.config
    stream_cfg = config.runtime.stream
    if stream_cfg is None or not stream_cfg.checkpoint:
        raise PipelineRunError(
            "NO_STREAM_RUNTIME",
            f"Pipeline {config.name!r} has no runtime.stream.checkpoint; streaming needs one.",
            {},
        )
    # Refused before the checkpoint is touched: its record names a source that streams.
    src = plan.stream_source(source)
    checkpoint = str(stream_cfg.checkpoint)
    check_checkpoint(plan.spark, checkpoint, config.name, src)
    src.check_reachable()
    app_id = txn_app_id(config.name, checkpoint)
    if plan.snapshots is not None:
        plan.snapshots.expire()  # a new run joins the tables as they are now
    envelope = src.read_stream(plan.spark)
    dedup = plan.sink.dedup
    if dedup is not None:  # before foreachBatch: Spark keeps streaming state only here
        envelope = dedup.in_stream(envelope)
    run_report = RunReport(config.name, plan.run_id)
    failures: list[BatchFailure] = []

    previous_start: list[float] = []
    # The source lag Spark reports after each trigger, for the metrics (none when they are off).
    lag: LagListener | None = None
    if not isinstance(plan.metrics, NoMetrics):
        lag = LagListener(plan.spark, config.name, src, plan.metrics)

    def on_batch(batch: DataFrame, batch_id: int) -> None:
        began = time.perf_counter()
        try:
            report = process_batch(
                plan,
                batch,
                batch_id=batch_id,
                # Only a run's first micro-batch can be one a crashed run attempted.
                txn=Txn(app_id, batch_id, may_be_retry=not previous_start),
                policy=STREAMING,
                runtime="stream",
                arrivals_since=previous_start[0] if previous_start else None,
                lag=lag.latest if lag is not None else None,
            )
        except BaseException as exc:
            # Kept whole: through Py4J it reaches the query only as traceback text.
            failures[:] = [BatchFailure(batch_id, exc)]
            raise
        finally:
            previous_start[:] = [began]
        run_report.add(report, keep=REPORTS_KEPT)

    writer = envelope.writeStream.foreachBatch(on_batch).option("checkpointLocation", checkpoint)
    writer = writer.queryName(f"spark-enrich-{config.name}")
    trigger = stream_cfg.trigger
    configured_now = isinstance(trigger, models.AvailableNowTrigger)
    if available_now or (available_now is None and configured_now):
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=processing_interval(trigger))
    settings = dict(STREAM_SETTINGS) if dedup is not None else {}
    settings.update(_partitions(plan.spark, stream_cfg))
    with session_settings(plan.spark, settings):
        query = writer.start()
    if lag is not None:
        lag.attach(plan.spark.streams, str(query.id))
    hold = hold_checkpoint(checkpoint)
    return StreamRun(
        query,
        run_report,
        source=src,
        checkpoint=checkpoint,
        batch_failures=failures,
        hold=hold,
        lag=lag,
    )


def _partitions(spark: SparkSession, stream_cfg: models.StreamRuntime) -> dict[str, str]:
    """The stream's ``spark.sql.shuffle.partitions``: as configured, else the cluster's cores.

    Spark's default of 200 gives a micro-batch of ten events 200 tasks in each shuffle that
    adaptive execution does not coalesce, and always in ``sink.dedup``'s state (one state
    store per partition, each opened and committed every micro-batch).
    """
    partitions = stream_cfg.shuffle_partitions
    if partitions is None:
        try:
            partitions = spark.sparkContext.defaultParallelism
        except Exception:  # Spark Connect: no SparkContext here; the server's setting stays
            return {}
    return {"spark.sql.shuffle.partitions": str(partitions)}


def await_stream(
    run: StreamRun, *, handle_signals: bool = True, timeout: float | None = None
) -> None:
    """Block until the stream ends; SIGTERM/SIGINT stop it after the current micro-batch.

    Raises:
        PipelineRunError: ``STREAM_FAILED`` when the query failed (the cause is attached).
    """
    previous: dict[signal.Signals, Any] = {}

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.warning("signal %s: stopping after the current micro-batch", signum)
        run.stop_requested.set()

    if handle_signals and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, request_stop)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        query = run.query
        while query.isActive:
            if run.stop_requested.is_set() or (
                deadline is not None and time.monotonic() > deadline
            ):
                while query.isActive and query.status.get("isTriggerActive"):
                    time.sleep(0.2)
                query.stop()
                break
            try:
                query.awaitTermination(1)
            except StreamingQueryException:
                break  # the query failed: reported below, with the engine's advice
        error = query.exception()
        if error is not None:
            raise _failed(run, error) from error
    finally:
        if run.lag is not None:
            run.lag.detach(run.query)
        if run.hold is not None:
            run.hold.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _failed(run: StreamRun, error: StreamingQueryException) -> PipelineRunError:
    """``STREAM_FAILED`` with the root cause and what to do: a restart only where it helps."""
    query = run.query
    try:  # the Java exception, whose chain of causes the Python one does not keep
        java_error = query._jsq.exception().get()  # type: ignore[attr-defined]
    except Exception:  # Spark Connect: no driver JVM here
        java_error = None
    batch_failure = run.batch_failures[-1] if run.batch_failures else None
    failure, batch_id = explain(
        error, java_error, batch_failure, source=run.source, checkpoint=run.checkpoint
    )
    where = "" if batch_id is None else f" in micro-batch {batch_id}"
    return PipelineRunError(
        "STREAM_FAILED",
        f"Stream {query.name} failed{where}: {failure.cause.rstrip('.')}. {failure.advice}",
        {
            "query": query.name,
            "failure": failure.kind,
            "cause": failure.cause,
            "batch_id": batch_id,
        },
    )


def run_stream(
    plan: CompiledPipeline,
    *,
    source: str | None = None,
    available_now: bool | None = None,
    handle_signals: bool = True,
) -> RunReport:
    """Run the stream until it ends (available-now), fails or is stopped by a signal."""
    run = start_stream(plan, source=source, available_now=available_now)
    await_stream(run, handle_signals=handle_signals)
    return run.report()
