"""The online serving API (FastAPI): a user's latest sequence, read from the online store.

- ``GET /v1/sequences/{user_id}?limit=N``: the last ``N`` events (all by default), oldest
  first; 404 for a user the store lacks, 400 for a bad ``limit``.
- ``POST /v1/sequences:batchGet`` with ``{"user_ids": [...], "limit": N}``: up to
  ``MAX_BATCH`` users in one store round trip; unknown users are listed in ``missing``.
- ``/healthz`` (the process), ``/readyz`` (the store answers), ``/metrics`` (Prometheus).

A sequence is one store value written whole, so a response never holds part of one. With a
token, every route but the health checks needs ``Authorization: Bearer <token>``, compared in
constant time.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, Field

from spark_enrich.online.store import Stored, read_many

MAX_BATCH = 100
MAX_LIMIT = 10_000
MAX_BODY_BYTES = 64 * 1024


class BatchGet(BaseModel):
    """The body of ``POST /v1/sequences:batchGet``."""

    user_ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)


def _events(stored: Stored, limit: int | None) -> dict[str, Any]:
    document = stored.parsed()
    events = document["events"]
    return {
        "version": stored.version,
        "updated_at": document["updated_at"],
        "events": events[-limit:] if limit else events,
    }


def create_app(client: Any, key_prefix: str, *, token: str | None = None) -> FastAPI:
    """The API over the store ``client`` (a ``redis.Redis``), keys ``key_prefix + user_id``;
    with ``token``, bearer authentication."""
    app = FastAPI(
        title="spark-enrich online sequences",
        description="Each user's latest sequence, as the sequence sink folded it.",
        version="1",
    )
    registry = CollectorRegistry()
    latency = Histogram(
        "spark_enrich_serve_request_seconds",
        "Request latency",
        ["route"],
        registry=registry,
        buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
    )
    lookups = Counter(
        "spark_enrich_serve_lookups_total", "Users looked up", ["result"], registry=registry
    )

    def authorize(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})

    @app.middleware("http")
    async def bounded_and_timed(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse({"detail": f"body over {MAX_BODY_BYTES} bytes"}, 413)
        start = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        latency.labels(getattr(route, "path", "other")).observe(time.perf_counter() - start)
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()
        ]  # the input values are not echoed back
        return JSONResponse({"detail": problems}, 400)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        try:
            client.ping()
        except Exception:  # any failure to answer means: not ready
            return JSONResponse({"status": "store unavailable"}, 503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", dependencies=[Depends(authorize)])
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/sequences/{user_id}", dependencies=[Depends(authorize)])
    def get_sequence(
        user_id: str, limit: int | None = Query(default=None, ge=1, le=MAX_LIMIT)
    ) -> Response:
        (stored,) = read_many(client, [key_prefix + user_id])
        if stored is None:
            lookups.labels("miss").inc()
            raise HTTPException(404, f"no sequence for user {user_id!r}")
        lookups.labels("hit").inc()
        body = {"user_id": user_id, **_events(stored, limit)}
        return Response(json.dumps(body), media_type="application/json")

    @app.post("/v1/sequences:batchGet", dependencies=[Depends(authorize)])
    def batch_get(request: BatchGet) -> Response:
        users = list(dict.fromkeys(request.user_ids))
        found = read_many(client, [key_prefix + u for u in users])
        sequences = {u: _events(s, request.limit) for u, s in zip(users, found, strict=True) if s}
        missing = [u for u, s in zip(users, found, strict=True) if s is None]
        lookups.labels("hit").inc(len(sequences))
        lookups.labels("miss").inc(len(missing))
        body = {"sequences": sequences, "missing": missing}
        return Response(json.dumps(body), media_type="application/json")

    return app
