"""The online store without Spark: a real redis-server process, compare-and-set writes,
whole values, restarts that keep every acknowledged write, a missing binary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spark_enrich.errors import EnvironmentProblem, PipelineRunError
from spark_enrich.online.server import SERVER_ENV, LocalRedisServer, find_server_binary
from spark_enrich.online.store import StoreWriter, connect, encode, read_many


def writer(url: str, retries: int = 0, ttl: int | None = None) -> StoreWriter:
    return StoreWriter(url=url, ttl_seconds=ttl, batch_size=2, retries=retries)


def doc(*events: str) -> str:
    return json.dumps({"updated_at": "2026-01-01T00:00:00.000Z", "events": list(events)})


def test_an_older_version_never_replaces_a_newer_one(
    redis_server: LocalRedisServer, online_prefix: str
) -> None:
    key = f"{online_prefix}u1"
    store = writer(redis_server.url)
    assert store.write([(key, encode(7, doc("a", "b")))]) == 1
    # A replayed micro-batch or a backfill read at an older Delta version comes late.
    assert store.write([(key, encode(6, doc("a")))]) == 0
    assert store.write([(key, encode(12, doc("a", "b", "c")))]) == 1
    assert store.write([(key, encode(12, doc("a", "b", "c")))]) == 1  # same version: idempotent
    assert store.write([(key, encode(9, doc("x")))]) == 0
    (stored,) = read_many(connect(redis_server.url), [key])
    assert stored is not None
    assert stored.version == 12
    assert stored.parsed()["events"] == ["a", "b", "c"]


def test_versions_compare_as_numbers_and_writes_are_pipelined_in_chunks(
    redis_server: LocalRedisServer, online_prefix: str
) -> None:
    keys = [f"{online_prefix}{i}" for i in range(5)]
    store = writer(redis_server.url)
    assert store.write((k, encode(10, doc(k))) for k in keys) == 5
    assert store.write((k, encode(9, doc("old"))) for k in keys) == 0  # "9" > "10" as text
    found = read_many(connect(redis_server.url), [*keys, f"{online_prefix}none"])
    assert [s.parsed()["events"] if s else None for s in found] == [*([k] for k in keys), None]


def test_ttl_expires_keys(redis_server: LocalRedisServer, online_prefix: str) -> None:
    key = f"{online_prefix}ttl"
    writer(redis_server.url, ttl=100).write([(key, encode(1, doc("a")))])
    assert 0 < connect(redis_server.url).ttl(key) <= 100


def test_a_killed_and_restarted_server_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    server = LocalRedisServer.start(tmp_path / "store")
    try:
        store = writer(server.url)
        store.write((f"k{i}", encode(i, doc(str(i)))) for i in range(50))
        server.kill()
        with pytest.raises(PipelineRunError) as failed:
            store.write([("k1", encode(99, doc("lost?")))])
        assert failed.value.error_class == "ONLINE_STORE_UNAVAILABLE"
        server.restart()
        found = read_many(connect(server.url), [f"k{i}" for i in range(50)])
        assert [s.version if s else None for s in found] == list(range(50))
    finally:
        server.stop()
    assert not server.is_running()


def test_a_server_in_a_relative_folder_starts_and_logs_there(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `demo run` keeps the store under ./demo-output; redis-server changes into --dir before it
    # opens --logfile, so a relative folder once made it fail to start.
    monkeypatch.chdir(tmp_path)
    server = LocalRedisServer.start(Path("out") / "store")
    try:
        writer(server.url).write([("k", encode(1, doc()))])
        assert (tmp_path / "out" / "store" / "redis.log").exists()
        assert not (tmp_path / "out" / "store" / "out").exists()
    finally:
        server.stop()


def test_a_failing_store_is_named_without_its_password(tmp_path: Path) -> None:
    server = LocalRedisServer.start(tmp_path / "store")
    url = f"redis://:s3cret@127.0.0.1:{server.port}/0"
    server.stop()
    with pytest.raises(PipelineRunError) as failed:
        writer(url, retries=1).write([("k", encode(1, doc()))])
    assert "s3cret" not in str(failed.value)
    assert f"redis://***@127.0.0.1:{server.port}/0" in str(failed.value)


def test_a_missing_server_binary_is_an_environment_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(SERVER_ENV, str(tmp_path / "no-such-redis-server"))
    with pytest.raises(EnvironmentProblem) as missing:
        find_server_binary()
    assert missing.value.error_class == "REDIS_SERVER_NOT_FOUND"
