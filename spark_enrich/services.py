"""Enrichment services: HTTP calls made by the engine on an executor's behalf.

An executor asks ``ctx.call_service("lang", df)``; the engine sends the configured
``request_columns`` of each row in batches of ``batch_size`` (Arrow batches through
``mapInPandas``, never row-at-a-time UDFs), with ``concurrency`` requests in flight, a
``timeout``, ``retries`` with doubling ``backoff`` and an optional rate limit, and joins the
``response_schema`` fields back onto the rows.

Wire format (one POST per batch)::

    request:  {"requests":  [{"pin_id": "p-1"}, {"pin_id": "p-2"}]}
    response: {"responses": [{"language": "en"}, {"language": null}]}   # same length and order

When retries are exhausted the service's ``on_failure`` policy decides: ``dead_letter`` marks
the rows with reason ``enrichment_error`` (they become dead letters after the executor),
``null`` leaves the response fields null, ``fail`` fails the batch.

A service that cannot be reached at all is not a failure of the rows: when no request of a
Spark task could connect (after the retries), the task raises :class:`ServiceUnreachable` and
the batch fails with ``INFRASTRUCTURE_ERROR`` instead of dead-lettering every row, unless the
policy is ``null`` (the pipeline then runs on without the fields, as it asked).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from spark_enrich.columns import ERROR, META, Reason

if TYPE_CHECKING:
    import httpx
    import pandas as pd
    from pyspark.sql import DataFrame
    from pyspark.sql.types import DataType, StructField

    from spark_enrich.config.models import ServiceEnrichment

_RID = "_se_request_row"
_FAILED = "_se_service_error"


class ServiceFailure(Exception):
    """A request that failed after every retry."""


class ServiceUnreachable(ServiceFailure):
    """A request that could not connect to the service on any attempt."""


def _connect_failed(exc: Exception) -> bool:
    import httpx

    # Only failures to connect: a read timeout or a dropped connection may be the request's
    # doing (a row the service chokes on), a refused connection never is.
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def _convert(value: Any, data_type: DataType) -> Any:
    from pyspark.sql.types import BooleanType, FractionalType, IntegralType, StringType

    if value is None:
        return None
    if isinstance(data_type, StringType):
        return value if isinstance(value, str) else json.dumps(value)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(data_type, IntegralType) and number and float(value).is_integer():
        return int(value)
    if isinstance(data_type, FractionalType) and number:
        return float(value)
    if isinstance(data_type, BooleanType) and isinstance(value, bool):
        return value
    raise ValueError(f"{value!r} is not a {data_type.simpleString()}")


class _RateLimiter:
    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self.next_at = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            time.sleep(delay)


def _post_batch(
    client: httpx.Client,
    cfg: ServiceEnrichment,
    batch: list[dict[str, Any]],
    limiter: _RateLimiter,
) -> list[Any]:
    delay = cfg.backoff.total_seconds()
    last = "no attempt"
    unreachable = True
    for attempt in range(cfg.retries + 1):
        if attempt:
            time.sleep(delay * 2 ** (attempt - 1))
        limiter.wait()
        try:
            response = client.post(cfg.url, content=json.dumps({"requests": batch}, default=str))
        except Exception as exc:  # httpx transport errors and timeouts: retry
            last = f"{type(exc).__name__}: {exc}"
            unreachable = unreachable and _connect_failed(exc)
            continue
        unreachable = False
        if response.status_code >= 500 or response.status_code == 429:
            last = f"HTTP {response.status_code}"
            continue
        if response.status_code >= 400:
            raise ServiceFailure(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            answers = response.json()["responses"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ServiceFailure(f"malformed response: {exc}") from exc
        if not isinstance(answers, list) or len(answers) != len(batch):
            raise ServiceFailure(f"expected {len(batch)} responses, got {len(answers)!r}")
        return answers
    if unreachable:
        raise ServiceUnreachable(
            f"cannot connect to {cfg.url} ({cfg.retries + 1} attempts; last: {last})"
        )
    raise ServiceFailure(f"gave up after {cfg.retries + 1} attempts: {last}")


def _answer_rows(
    chunks: list[list[dict[str, Any]]],
    results: list[list[Any] | ServiceFailure],
    fields: list[StructField],
) -> list[dict[str, Any]]:
    """One output row per request: the response fields, or the failure in ``_FAILED``."""
    rows: list[dict[str, Any]] = []
    for chunk, result in zip(chunks, results, strict=True):
        answers = result if isinstance(result, list) else [None] * len(chunk)
        for answer in answers:
            row: dict[str, Any] = {f.name: None for f in fields}
            error = None if isinstance(result, list) else str(result)
            if error is None:
                try:
                    for f in fields:
                        value = answer.get(f.name) if isinstance(answer, dict) else None
                        row[f.name] = _convert(value, f.dataType)
                except ValueError as exc:
                    row = {f.name: None for f in fields}
                    error = f"response field: {exc}"
            row[_FAILED] = error
            rows.append(row)
    return rows


def _requester(
    cfg: ServiceEnrichment, fields: list[StructField]
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The ``mapInPandas`` function sending one Spark task's requests."""
    columns = list(cfg.request_columns)
    policy = cfg.on_failure

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import httpx
        import pandas as pd

        limiter = _RateLimiter(cfg.rate_limit_per_s)
        reached = False  # whether any request of this task got an answer
        with (
            httpx.Client(
                timeout=cfg.timeout.total_seconds(), headers={"content-type": "application/json"}
            ) as client,
            ThreadPoolExecutor(cfg.concurrency) as pool,
        ):
            for frame in batches:
                records = frame[columns].astype(object).where(frame[columns].notna(), None)
                requests = records.to_dict("records")
                chunks = [
                    requests[i : i + cfg.batch_size]
                    for i in range(0, len(requests), cfg.batch_size)
                ]

                def one(chunk: list[dict[str, Any]]) -> list[Any] | ServiceFailure:
                    try:
                        return _post_batch(client, cfg, chunk, limiter)
                    except ServiceFailure as exc:
                        if policy == "fail":
                            raise type(exc)(f"service {cfg.name!r}: {exc}") from exc
                        return exc

                results = list(pool.map(one, chunks))
                down = [r for r in results if isinstance(r, ServiceUnreachable)]
                if down and len(down) == len(results) and not reached and policy != "null":
                    # Not one request of this task connected: the service is down or
                    # unreachable from this worker, which no row is to blame for.
                    raise ServiceUnreachable(f"service {cfg.name!r}: {down[0]}")
                reached = reached or len(down) < len(results)
                rows = _answer_rows(chunks, results, fields)
                out = pd.DataFrame(rows, columns=[f.name for f in fields] + [_FAILED])
                out.insert(0, _RID, frame[_RID].to_numpy())
                yield out

    return run


def make_service_call(cfg: ServiceEnrichment) -> Callable[[DataFrame], DataFrame]:
    """Build the function an :class:`~spark_enrich.context.EnrichContext` calls for ``cfg``."""

    def call(df: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, StructField, StructType

        from spark_enrich.decode import parse_schema

        fields = list(parse_schema(cfg.response_schema).fields)
        out_schema = StructType(
            [StructField(_RID, df.schema[META].dataType["row_id"].dataType), *fields,  # type: ignore[index]
             StructField(_FAILED, StringType())]
        )  # fmt: skip
        requests = df.select(F.col(f"{META}.row_id").alias(_RID), *cfg.request_columns)
        answers = requests.mapInPandas(_requester(cfg, fields), out_schema)
        joined = df.withColumn(_RID, F.col(f"{META}.row_id")).join(answers, _RID, "left")
        if cfg.on_failure == "dead_letter":
            failure = F.struct(
                F.lit(Reason.ENRICHMENT_ERROR.value).alias("reason"),
                F.concat(F.lit(f"service {cfg.name!r}: "), F.col(_FAILED)).alias("message"),
            )
            previous = F.col(ERROR) if ERROR in df.columns else F.lit(None)
            joined = joined.withColumn(
                ERROR, F.coalesce(previous, F.when(F.col(_FAILED).isNotNull(), failure))
            )
        return joined.drop(_RID, _FAILED)

    return call
