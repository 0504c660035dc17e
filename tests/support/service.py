"""The crash tests' enrichment service and event mix: a flaky service on loopback that fails
some events on their first call only, the ``engagement_checked`` executor installed for stream
subprocesses, and events of every fate (kept, filtered, unrouted, dead-lettered) with the check
that each produced record ended in exactly one place."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_enrich.testing.http_service import EnrichmentService
from support.runtime import Layout, event

TESTS = Path(__file__).resolve().parents[1]
BOT_AGENT = "Mozilla/5.0 (compatible; Googlebot/2.1)"
# What an event becomes, by its number: the service fails every third kept event on its first
# call; some are bots (filtered), have an event type no executor handles (unrouted, counted
# only) or lack their user id (a missing_required dead letter).
KEPT, FILTERED, UNROUTED, MISSING_USER = "kept", "filtered", "unrouted", "missing_user"


def fate(i: int) -> str:
    """The fate of event ``i`` as the test builds it (independent of the engine)."""
    if i % 10 == 7:
        return FILTERED
    if i % 10 == 8:
        return UNROUTED
    if i % 10 == 9:
        return MISSING_USER
    return KEPT


def fails_first(event_id: str) -> bool:
    """Whether the flaky service fails this event's first call."""
    return int(event_id[-6:]) % 3 == 0


def mixed_event(i: int, prefix: str) -> str:
    """Event ``i`` built for its :func:`fate`; its id is ``{prefix}{i:06d}``."""
    body = json.loads(event(i, prefix=prefix))
    kind = fate(i)
    if kind == FILTERED:
        body["user_agent"] = BOT_AGENT
    elif kind == UNROUTED:
        body["event_type"] = "pin_hover"
    elif kind == MISSING_USER:
        del body["user_id"]
    return json.dumps(body)


@contextmanager
def flaky_service() -> Iterator[EnrichmentService]:
    """The ``checks`` service: answers ``{"checked": "ok"}``; a request holding an event that
    :func:`fails_first` gets HTTP 500 the first time that event is sent, never again."""
    seen: set[str] = set()
    lock = threading.Lock()

    def first_call(request: dict[str, Any]) -> bool:
        event_id = str(request["event_id"])
        with lock:
            first = event_id not in seen
            seen.add(event_id)
        return first and fails_first(event_id)

    with EnrichmentService(lambda request: {"checked": "ok"}, fail_when=first_call) as service:
        yield service


def service_sets(url: str) -> list[str]:
    """``--set`` values running ``engagement_checked`` (calling ``url``) instead of the demo's
    executors; one event per request and no retry, so a failed call is that event's dead
    letter."""
    service = (
        f'{{name: checks, url: "{url}", batch_size: 1, concurrency: 4, retries: 0, '
        "timeout: 10s, on_failure: dead_letter, request_columns: [event_id], "
        'response_schema: "checked STRING"}'
    )
    return [
        "executors=[{name: engagement_checked}]",
        f"enrichments.services=[{service}]",
    ]


def executor_env(folder: Path) -> dict[str, str]:
    """Environment of a subprocess that finds ``engagement_checked`` through the
    ``spark_enrich.executors`` entry point of a distribution made in ``folder``."""
    info = folder / "checked_executor_test-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: checked-executor-test\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[spark_enrich.executors]\nchecked = support.checked_executor\n"
    )
    inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    return {"PYTHONPATH": os.pathsep.join([str(folder), str(TESTS), *inherited])}


@dataclass(frozen=True)
class Places:
    """Where the produced events ended: event ids in the sink and in the dead letters."""

    sink: list[str]
    dead: list[str]
    dead_reasons: dict[str, str]


def places(spark: SparkSession, layout: Layout) -> Places:
    """Read both tables (a table not written yet holds nothing)."""
    sink: list[str] = []
    if (layout.sink / "_delta_log").is_dir():
        rows = spark.read.format("delta").load(str(layout.sink)).select("event_id").collect()
        sink = [r["event_id"] for r in rows]
    dead: list[str] = []
    reasons: dict[str, str] = {}
    if (layout.dead_letters / "_delta_log").is_dir():
        letters = spark.read.format("delta").load(str(layout.dead_letters))
        event_id = F.get_json_object(F.col("raw_payload").cast("string"), "$.event_id")
        for r in letters.select(event_id.alias("event_id"), "reason").collect():
            dead.append(r["event_id"])
            reasons[r["event_id"]] = r["reason"]
    return Places(sorted(sink), sorted(dead), reasons)


def assert_each_in_one_place(
    spark: SparkSession, layout: Layout, produced: Sequence[str], *, service: bool
) -> Places:
    """Every produced event (by id, ``{prefix}{i:06d}``) is in exactly one of sink, dead
    letters, filtered, unrouted — filtered and unrouted ones in neither table; a kept event is
    a dead letter only when the flaky ``service`` failed it."""
    found = places(spark, layout)
    assert len(found.sink) == len(set(found.sink)), "an event is in the sink twice"
    assert len(found.dead) == len(set(found.dead)), "an event is in the dead letters twice"
    both = set(found.sink) & set(found.dead)
    assert not both, f"{len(both)} events in the sink and in the dead letters: {sorted(both)[:5]}"
    fates = {event_id: fate(int(event_id[-6:])) for event_id in produced}
    assert len(fates) == len(produced)
    stored = {event_id for event_id, kind in fates.items() if kind in (KEPT, MISSING_USER)}
    assert set(found.sink) | set(found.dead) == stored
    missing = {e for e, kind in fates.items() if kind == MISSING_USER}
    assert {found.dead_reasons[e] for e in missing} <= {"missing_required"}
    assert missing <= set(found.dead)
    kept_dead = {e for e in found.dead if fates[e] == KEPT}
    assert {found.dead_reasons[e] for e in kept_dead} <= {"enrichment_error"}
    assert kept_dead <= ({e for e in kept_dead if fails_first(e)} if service else set())
    return found
