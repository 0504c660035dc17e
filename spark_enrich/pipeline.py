"""The Python API for notebooks and jobs: load a pipeline, preview an executor, explain, run.

Example:
    >>> from spark_enrich import Pipeline
    >>> pipeline = Pipeline.from_yaml("pipelines/demo.yaml")       # validated, no JVM yet
    >>> pipeline.preview("engagement", limit=10).show()             # doctest: +SKIP
    >>> report = pipeline.run_batch()                               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_enrich.registry import ExecutorRegistry

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from spark_enrich.accounting import RunReport
    from spark_enrich.config import PipelineConfig
    from spark_enrich.plan import CompiledPipeline


class Pipeline:
    """A validated pipeline configuration, bound lazily to a Spark session.

    Construction validates the whole configuration without starting Spark; the session is
    obtained (or reused) on first use.
    """

    def __init__(
        self,
        config: PipelineConfig,
        *,
        spark: SparkSession | None = None,
        registry: ExecutorRegistry | None = None,
    ) -> None:
        self.config = config
        self._spark = spark
        self._registry = registry
        self._plan: CompiledPipeline | None = None

    @classmethod
    def from_yaml(
        cls,
        path: str | Path,
        *,
        overrides: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        spark: SparkSession | None = None,
        registry: ExecutorRegistry | None = None,
    ) -> Pipeline:
        """Load and validate a pipeline file.

        Raises:
            ConfigError: with every problem of the file (see ``spark-enrich validate``).
        """
        from spark_enrich.config import load_pipeline

        config = load_pipeline(path, overrides=overrides, env=env, registry=registry)
        return cls(config, spark=spark, registry=registry)

    @property
    def spark(self) -> SparkSession:
        """The session this pipeline runs on (created with :func:`get_spark` if needed)."""
        if self._spark is None:
            from spark_enrich.session import get_spark

            self._spark = get_spark(f"spark-enrich:{self.config.name}")
        return self._spark

    @property
    def plan(self) -> CompiledPipeline:
        """The compiled pipeline (executors instantiated, sink and dead letters resolved)."""
        if self._plan is None:
            from spark_enrich.plan import compile_pipeline
            from spark_enrich.workers import check_workers, worker_modules

            plan = compile_pipeline(self.config, self.spark, registry=self._registry)
            # On a cluster, a worker without the engine or an executor fails here, in seconds.
            check_workers(
                plan.spark,
                worker_modules(type(b.executor).__module__ for b in plan.executors),
                [b.name for b in plan.executors],
            )
            self._plan = plan
        return self._plan

    def decoded_sample(self, *, limit: int = 100, source: str | None = None) -> DataFrame:
        """Decoded events (good and bad, with ``_se_error``) from the batch source."""
        from spark_enrich.decode import decode
        from spark_enrich.process import with_row_ids

        envelope = self.plan.source(source).read_batch(self.spark)
        return decode(with_row_ids(envelope.limit(limit)), self.plan.decode_spec)

    def preview(
        self,
        executor: str,
        sample: DataFrame | None = None,
        *,
        limit: int = 100,
        engine_columns: bool = False,
    ) -> DataFrame:
        """Run one executor's four stages on a sample and return its conformed output.

        Args:
            executor: the executor's name.
            sample: decoded events to run on (hand-written rows need no ``_se_meta``); by
                default ``limit`` events of the batch source.
            limit: sample size when ``sample`` is not given.
            engine_columns: keep the engine's ``_se_meta`` struct (raw payload, Kafka key and
                headers, source coordinates, row id); hidden by default, so that ``show()``
                fits a notebook.

        Returns:
            The executor's output: the contract's columns and ``_se_error`` (null, or the
            reason and message of a row that would be a dead letter), plus ``_se_meta`` with
            ``engine_columns=True``. Nothing is written.

        Example:
            >>> pipeline.preview("engagement", limit=20).show()  # doctest: +SKIP
        """
        from pyspark.sql import functions as F

        from spark_enrich.columns import ERROR, META
        from spark_enrich.conform import conform
        from spark_enrich.executing import apply_stages

        bound = self._bound(executor)
        if sample is None:
            decoded = self.decoded_sample(limit=limit * 20)
            sample = (
                decoded.where(F.col(ERROR).isNull())
                .drop(ERROR)
                .where(F.col(self.config.decoding.event_type_field).isin(list(bound.event_types)))
                .limit(limit)
            )
        if META not in sample.columns:
            # A hand-written sample has no engine column; stages and conform expect one.
            sample = sample.withColumn(
                META, F.struct(F.monotonically_increasing_id().alias("row_id"))
            )
        _, normalised = apply_stages(bound, sample)
        out = conform(normalised, self.plan.contract, executor=bound.name)
        return out if engine_columns else out.drop(META)

    def explain(self, executor: str | None = None, *, mode: str = "formatted") -> str:
        """The Spark plan of each executor (or one) on the batch source, as text."""
        from pyspark.sql import functions as F

        from spark_enrich._jvm import explain_string
        from spark_enrich.columns import ERROR

        if executor is not None:
            self._bound(executor)  # an unknown name is an error, not an empty explanation
        decoded = self.decoded_sample(limit=1000)
        good = decoded.where(F.col(ERROR).isNull()).drop(ERROR)
        parts = []
        for bound in self.plan.executors:
            if executor is not None and bound.name != executor:
                continue
            out = self.preview(
                bound.name,
                good.where(
                    F.col(self.config.decoding.event_type_field).isin(list(bound.event_types))
                ),
                engine_columns=True,
            )
            plan_text = explain_string(out, mode)
            parts.append(f"== executor {bound.name} {bound.version} ==\n{plan_text}")
        return "\n".join(parts)

    def _bound(self, name: str) -> Any:
        for bound in self.plan.executors:
            if bound.name == name:
                return bound
        raise KeyError(
            f"executor {name!r} is not in pipeline {self.config.name!r}; it has "
            f"{[b.name for b in self.plan.executors]}"
        )

    def run_batch(
        self, *, start: date | None = None, end: date | None = None, source: str | None = None
    ) -> RunReport:
        """Process the batch source once (optionally the dates ``[start, end)``)."""
        from spark_enrich.runtime.batch import run_batch

        return run_batch(self.plan, source=source, start=start, end=end)

    def run_stream(
        self, *, source: str | None = None, available_now: bool | None = None
    ) -> RunReport:
        """Run the stream until it drains (available-now), fails, or gets SIGTERM/SIGINT."""
        from spark_enrich.runtime.stream import run_stream

        return run_stream(self.plan, source=source, available_now=available_now)

    def backfill(
        self,
        start: date,
        end: date,
        *,
        chunk_size: timedelta | None = None,
        force: bool = False,
        source: str | None = None,
        progress: bool | None = None,
        allow_empty: bool = False,
    ) -> RunReport:
        """Reprocess ``[start, end)`` in chunks, replacing exactly that range of the output (a
        ``sequence`` sink folds the range's events in instead). A chunk that would replace
        days the output holds rows for with none fails (``BACKFILL_WOULD_EMPTY``, nothing
        written) unless ``allow_empty``."""
        from spark_enrich.runtime.backfill import backfill

        return backfill(
            self.plan, start, end, chunk_size=chunk_size, force=force, source=source,
            progress=progress, allow_empty=allow_empty,
        )  # fmt: skip

    def output(self) -> DataFrame:
        """The sink table."""
        return self.plan.sink.read(self.spark)

    def dead_letters(self) -> DataFrame:
        """The dead-letter table."""
        return self.plan.dead_letters.read(self.spark)

    def replay(self, reason: str | None = None, since: date | None = None) -> ReplayReport:
        """Re-run the unreplayed dead letters through this pipeline, after a fix.

        Successes are written to the sink like any batch and their dead-letter rows are marked
        (``replayed_at``, ``replay_run_id``); events that fail again stay unmarked. Nothing is
        deleted. See :mod:`spark_enrich.replay` for the rules.

        Args:
            reason: replay only dead letters with this reason code (e.g. ``executor_error``).
            since: replay only those dead-lettered at or after this time (a ``datetime``; a
                plain date means its midnight; UTC when naive).

        Returns:
            The counts of the replay and the accounting of its batch.

        Example:
            >>> Pipeline.from_yaml("pipelines/demo.yaml").replay("executor_error")  # doctest: +SKIP
        """
        from spark_enrich.replay import replay

        return replay(self.plan, reason=reason, since=since)


if TYPE_CHECKING:
    from spark_enrich.replay import ReplayReport
