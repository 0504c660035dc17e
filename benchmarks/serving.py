"""``python -m benchmarks serving``: the serving API over loopback against a bare Redis GET.

A real redis-server holds ``--users`` sequences of 50 events (the demo's item shape). The API
(``create_app`` under uvicorn, one process, in a thread) is called at a fixed request rate by
one keep-alive httpx client, ``GET /v1/sequences/{user}``; the same users' values are read by a
bare redis-py ``GET`` at the same rate, in the same run. Printed: p50/p99 of each, the API's
p99 as a ratio to the bare GET's (goal <= 3), and the sustainable requests/s (one client,
back to back, no pacing).
"""

from __future__ import annotations

import json
import random
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from spark_enrich.online.api import create_app
from spark_enrich.online.server import LocalRedisServer
from spark_enrich.online.store import StoreWriter, connect, encode

PREFIX = "bench:"


def _document(user: int) -> str:
    events = [
        {
            "event_id": f"e{user}-{i}",
            "event_time": "2026-01-01T00:00:00.000Z",
            "event_type": "pin_save",
            "token": f"pin_save:p{i:08d}",
            "surface": "home",
            "dwell_ms": 1200 + i,
            "category": "food",
        }
        for i in range(50)
    ]
    return json.dumps({"updated_at": "2026-01-01T00:00:00.000Z", "events": events})


def _paced(call: Callable[[int], object], users: int, rate: int, seconds: float) -> list[float]:
    """Latencies (s) of ``call`` at ``rate`` per second for ``seconds``, from the schedule."""
    pick = random.Random(1)
    interval = 1.0 / rate
    latencies: list[float] = []
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = start + n * interval
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        begin = time.perf_counter()
        call(pick.randrange(users))
        latencies.append(time.perf_counter() - begin)
    return latencies


def _throughput(call: Callable[[int], object], users: int, seconds: float) -> float:
    pick = random.Random(2)
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        call(pick.randrange(users))
        done += 1
    return done / seconds


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main(users: int, rate: int, seconds: float, workdir: Path | None = None) -> None:
    folder = workdir or Path(tempfile.mkdtemp(prefix="serving-"))
    with LocalRedisServer.start(folder / "store") as server:
        writer = StoreWriter(url=server.url, ttl_seconds=None, batch_size=500, retries=0)
        writer.write((f"{PREFIX}u{u}", encode(1, _document(u))) for u in range(users))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        app = create_app(connect(server.url), PREFIX)
        api = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=api.run, daemon=True)
        thread.start()
        while not api.started:
            time.sleep(0.05)
        bare = connect(server.url)
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}")

        def get_bare(u: int) -> object:
            value = bare.get(f"{PREFIX}u{u}")
            assert value is not None
            return value

        def get_api(u: int) -> object:
            answer = http.get(f"/v1/sequences/u{u}")
            assert answer.status_code == 200
            return answer.content

        for call in (get_bare, get_api):  # warm up connections and code paths
            _paced(call, users, rate, 2)
        bare_lat = _paced(get_bare, users, rate, seconds)
        api_lat = _paced(get_api, users, rate, seconds)
        bare_rps = _throughput(get_bare, users, 5)
        api_rps = _throughput(get_api, users, 5)
        api.should_exit = True
        thread.join(timeout=10)
        http.close()
        bare.close()
    print(f"serving: {users} users x 50 events, {rate} req/s for {seconds:.0f}s each, loopback")
    print(f"{'':<22}{'p50 ms':>9}{'p99 ms':>9}{'max req/s':>11}")
    for name, lat, rps in (("bare redis GET", bare_lat, bare_rps), ("API GET", api_lat, api_rps)):
        print(f"{name:<22}{_pct(lat, 50):>9.3f}{_pct(lat, 99):>9.3f}{rps:>11.0f}")
    ratio = _pct(api_lat, 99) / _pct(bare_lat, 99)
    print(f"API p99 / bare GET p99: {ratio:.1f}x (goal <= 3x)")
