"""The demo's last step: the sequences it built, served online — a real redis-server loaded by
:func:`~spark_enrich.online.sync.sync_store`, the API on 127.0.0.1, one user's sequence read
over HTTP, then everything stopped."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from spark_enrich.config.online import OnlineStore
from spark_enrich.online.publish import OnlineSequences
from spark_enrich.online.server import LocalRedisServer

if TYPE_CHECKING:
    from spark_enrich.pipeline import Pipeline

LIMIT = 3


def serve_one_user(sequences: Pipeline, folder: Path) -> tuple[str, str]:
    """Load the pipeline's sequence table into a local store, serve it, GET one user's last
    :data:`LIMIT` events; return the request path and the response body.

    Raises:
        EnvironmentProblem: no redis-server binary (``REDIS_SERVER_NOT_FOUND``).
    """
    import httpx
    import uvicorn

    from spark_enrich.online.api import create_app
    from spark_enrich.online.store import connect
    from spark_enrich.online.sync import sync_store

    spec = sequences.config.sink.sequence
    assert spec is not None
    table = sequences.plan.sink.table
    spark = sequences.spark
    with LocalRedisServer.start(folder) as server:
        store = OnlineStore(url=SecretStr(server.url))
        online = OnlineSequences.from_config(store, spec.group_by, spec.column)
        sync_store(spark, online, table)
        first = table.read(spark).select(*spec.group_by).orderBy(*spec.group_by).first()
        assert first is not None
        user = ":".join(str(v) for v in first)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        client = connect(server.url)
        api = uvicorn.Server(
            uvicorn.Config(
                create_app(client, store.key_prefix), host="127.0.0.1", port=port,
                log_level="warning",
            )
        )  # fmt: skip
        thread = threading.Thread(target=api.run, daemon=True)
        thread.start()
        try:
            while not api.started and thread.is_alive():
                time.sleep(0.05)
            path = f"/v1/sequences/{user}?limit={LIMIT}"
            body = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10).text
        finally:
            api.should_exit = True
            thread.join(timeout=10)
            client.close()
    return path, body
