"""A real HTTP enrichment service on 127.0.0.1 for tests and demos, speaking the wire format of
:mod:`spark_enrich.services`. Answers come from a Python function; failures can be injected."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class EnrichmentService:
    """Serve ``answer(request) -> response dict`` at ``http://127.0.0.1:<port>/enrich``.

    Args:
        answer: maps one request object to one response object.
        fail_first: answer the first N requests with HTTP 503 (to exercise retries).
        fail_when: a request for which the whole batch gets HTTP 500, every time.
    """

    def __init__(
        self,
        answer: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        fail_first: int = 0,
        fail_when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self.answer = answer
        self.fail_first = fail_first
        self.fail_when = fail_when
        self.requests = 0
        self.rows = 0
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                batch = body["requests"]
                with service._lock:
                    service.requests += 1
                    failing = service.requests <= service.fail_first
                if failing or (service.fail_when and any(service.fail_when(r) for r in batch)):
                    self.send_response(503 if failing else 500)
                    self.end_headers()
                    return
                with service._lock:
                    service.rows += len(batch)
                payload = json.dumps({"responses": [service.answer(r) for r in batch]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The endpoint to put in ``enrichments.services[].url``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/enrich"

    def stop(self) -> None:
        """Shut the server down."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> EnrichmentService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
