"""The serving API over a real redis-server: hits, 404, 400, 401, batch reads, metrics."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from spark_enrich.online.api import create_app
from spark_enrich.online.server import LocalRedisServer
from spark_enrich.online.store import StoreWriter, connect, encode


def client_for(server: LocalRedisServer, prefix: str, token: str | None = None) -> TestClient:
    store = StoreWriter(url=server.url, ttl_seconds=None, batch_size=10, retries=0)
    events = [{"event_id": f"e{i}", "token": f"t{i}"} for i in range(5)]
    document = json.dumps({"updated_at": "2026-01-01T00:00:00.000Z", "events": events})
    store.write([(f"{prefix}u1", encode(3, document))])
    return TestClient(create_app(connect(server.url), prefix, token=token))


def test_a_known_user_gets_its_sequence_and_limit_keeps_the_newest(
    redis_server: LocalRedisServer, online_prefix: str
) -> None:
    api = client_for(redis_server, online_prefix)
    whole = api.get("/v1/sequences/u1")
    assert whole.status_code == 200
    assert whole.json()["version"] == 3
    assert [e["event_id"] for e in whole.json()["events"]] == [f"e{i}" for i in range(5)]
    last = api.get("/v1/sequences/u1", params={"limit": 2}).json()["events"]
    assert [e["event_id"] for e in last] == ["e3", "e4"]


def test_unknown_user_is_404_and_bad_limit_is_400(
    redis_server: LocalRedisServer, online_prefix: str
) -> None:
    api = client_for(redis_server, online_prefix)
    assert api.get("/v1/sequences/nobody").status_code == 404
    for bad in ("0", "-1", "abc", "1000000"):
        assert api.get("/v1/sequences/u1", params={"limit": bad}).status_code == 400
    too_many = {"user_ids": [f"u{i}" for i in range(101)]}
    assert api.post("/v1/sequences:batchGet", json=too_many).status_code == 400


def test_batch_get_lists_the_missing_users(
    redis_server: LocalRedisServer, online_prefix: str
) -> None:
    api = client_for(redis_server, online_prefix)
    answer = api.post("/v1/sequences:batchGet", json={"user_ids": ["u1", "u9"], "limit": 1})
    assert answer.status_code == 200
    assert answer.json()["missing"] == ["u9"]
    assert [e["event_id"] for e in answer.json()["sequences"]["u1"]["events"]] == ["e4"]
    metrics = api.get("/metrics").text
    assert "spark_enrich_serve_request_seconds" in metrics
    assert 'spark_enrich_serve_lookups_total{result="miss"} 1.0' in metrics


def test_with_a_token_requests_without_it_are_401(
    redis_server: LocalRedisServer, online_prefix: str
) -> None:
    api = client_for(redis_server, online_prefix, token="s3cret")
    assert api.get("/v1/sequences/u1").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert api.get("/v1/sequences/u1", headers=wrong).status_code == 401
    assert api.get("/metrics").status_code == 401
    right = {"Authorization": "Bearer s3cret"}
    assert api.get("/v1/sequences/u1", headers=right).status_code == 200
    assert api.get("/healthz").status_code == 200
    assert api.get("/readyz").status_code == 200
