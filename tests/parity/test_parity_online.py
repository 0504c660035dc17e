"""``spark-enrich parity PIPELINE --online`` compares each user's value in the online store (a
real redis-server) with the Delta sequence table: equal after a batch run; once the store is
tampered with, a deleted key is reported missing and a value of an older version stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parity_kit import PIPELINES, QUIET, DemoData
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from spark_enrich._proc import free_port
from spark_enrich.cli.app import app
from spark_enrich.online.server import LocalRedisServer
from spark_enrich.online.store import connect, encode, read_many


def _parity(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["parity", str(PIPELINES / "sequences.yaml"), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_parity_online_finds_missing_and_stale_users(
    spark: SparkSession,
    demo_data: DemoData,
    redis_server: LocalRedisServer,
    online_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data.folder))
    overrides = [
        f"sink.path={tmp_path}/sequences",
        f"dead_letters.path={tmp_path}/dead_letters",
        "sink.sequence.length=5",
        f"sink.online.url={redis_server.url}",
        f"sink.online.key_prefix='{online_prefix}'",
    ]
    pipeline = demo_data.pipeline(spark, "sequences", *overrides)
    pipeline.run_batch()
    users = sorted(r["user_id"] for r in pipeline.output().select("user_id").collect())
    sets = [arg for s in [*QUIET, *overrides] for arg in ("--set", s)]

    code, output = _parity("--online", "--format", "json", *sets)
    assert code == 0, output
    equal = json.loads(output)
    assert (equal["equal"], equal["checked"], equal["missing"], equal["stale"]) == (
        True, len(users), 0, 0,
    )  # fmt: skip

    # One key deleted; another overwritten, bypassing the compare-and-set, by the value of an
    # older table version (a store restored from an old snapshot): its last event dropped.
    store = connect(redis_server.url)
    gone, old = f"{online_prefix}{users[0]}", f"{online_prefix}{users[1]}"
    store.delete(gone)
    (stored,) = read_many(store, [old])
    assert stored is not None
    document = stored.parsed()
    document["events"] = document["events"][:-1]
    store.set(old, encode(stored.version - 1, json.dumps(document, separators=(",", ":"))))

    code, output = _parity("--online", "--format", "json", *sets)
    assert code == 1, output
    found = json.loads(output)
    assert found["equal"] is False
    assert (found["checked"], found["missing"], found["stale"]) == (len(users), 1, 1)
    assert (found["missing_keys"], found["stale_keys"]) == ([gone], [old])

    code, output = _parity("--online", *sets)
    assert code == 1
    assert f"{len(users)} groups checked, 1 missing, 1 stale" in output
    assert f"missing: {gone}" in output and f"stale: {old}" in output

    # --sample N compares N users only (the same ones on every run).
    code, output = _parity("--online", "--sample", "2", "--format", "json", *sets)
    assert json.loads(output)["checked"] == 2, output


def test_parity_online_needs_an_online_store(demo_data: DemoData) -> None:
    result = CliRunner().invoke(
        app,
        ["parity", str(PIPELINES / "demo.yaml"), "--online",
         "--set", f"sources[1].path={demo_data.folder}/raw"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "has no sink.online store to compare" in result.output


def test_parity_online_takes_no_range() -> None:
    result = CliRunner().invoke(
        app, ["parity", str(PIPELINES / "sequences.yaml"), "--online", "--from", "2026-01-01"]
    )
    assert result.exit_code == 64, result.output
    assert "--online takes no --runtimes/--from/--to" in result.output


def test_parity_online_with_a_store_that_does_not_answer_exits_3(
    demo_data: DemoData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARK_ENRICH_DEMO_DIR", str(demo_data.folder))
    nowhere = f"redis://:s3cret@127.0.0.1:{free_port()}/0"  # nothing listens there
    sets = [f"sink.path={tmp_path}/sequences", f"sink.online.url={nowhere}"]
    code, output = _parity("--online", *(arg for s in sets for arg in ("--set", s)))
    assert code == 3, output
    assert "does not answer" in output
    assert "s3cret" not in output  # the store's password is never shown
