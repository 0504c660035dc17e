"""Reading and writing sequences in a Redis-protocol store; no Spark here.

A group's value is one string: the Delta version it was read from, as 20 digits, then the JSON
object ``{"updated_at": ..., "events": [...]}``. A value is written whole by one ``SET`` (a
reader never sees part of one), through a Lua script that compares the versions on the server:
a value from an older Delta version never replaces a newer one, so a replayed micro-batch or a
backfill beside the stream cannot roll a group back. Writes are pipelined, ``batch_size`` a
round trip, and retried with exponential backoff (the script is idempotent).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spark_enrich.config.online import redact_url
from spark_enrich.errors import PipelineRunError

if TYPE_CHECKING:
    import redis

VERSION_DIGITS = 20

# KEYS[1] the group's key; ARGV[1] the value (version prefix + JSON); ARGV[2] ttl seconds or 0.
# Versions are zero-padded, so comparing the prefixes as text compares them as numbers.
_WRITE_IF_NEWER = """
local stored = redis.call('GETRANGE', KEYS[1], 0, 19)
if stored ~= '' and stored > string.sub(ARGV[1], 1, 20) then
  return 0
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
"""


def encode(version: int, document: str) -> str:
    """The stored value of a sequence read at Delta ``version``: the version, then the JSON."""
    return f"{version:0{VERSION_DIGITS}d}{document}"


@dataclass(frozen=True)
class Stored:
    """A value read from the store: the Delta version it came from and its JSON text."""

    version: int
    document: bytes

    def parsed(self) -> dict[str, Any]:
        value = json.loads(self.document)
        assert isinstance(value, dict)
        return value


def decode(raw: bytes) -> Stored:
    """The inverse of :func:`encode`."""
    return Stored(int(raw[:VERSION_DIGITS]), raw[VERSION_DIGITS:])


def connect(url: str, *, timeout: float = 5.0) -> redis.Redis:
    """A client of the store at ``url`` (``redis://``, ``rediss://`` or ``unix://``)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def _retryable() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError)


def with_retries(action: str, url: str, retries: int, call: Any, backoff: float = 0.2) -> Any:
    """``call()``, retried ``retries`` times with exponential backoff on connection failures.

    Raises:
        PipelineRunError: ``ONLINE_STORE_UNAVAILABLE`` once the retries are spent; the message
            names the store by its redacted URL.
    """
    for attempt in range(retries + 1):
        try:
            return call()
        except _retryable() as exc:
            if attempt == retries:
                raise PipelineRunError(
                    "ONLINE_STORE_UNAVAILABLE",
                    f"The online store {redact_url(url)} failed to {action} after "
                    f"{retries + 1} attempt(s): {type(exc).__name__}: {str(exc).rstrip('.')}. "
                    "The Delta table stays the source of truth: a batch fails before its "
                    "checkpoint moves and is written to the store again when the pipeline "
                    "resumes; an online sync continues where it stopped when run again.",
                    {"store": redact_url(url), "attempts": retries + 1},
                ) from None
            time.sleep(backoff * 2**attempt)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class StoreWriter:
    """Writes (key, value) pairs to the store, newest version wins; picklable (it holds the
    settings, not a connection), so Spark workers can use it per partition."""

    url: str
    ttl_seconds: int | None
    batch_size: int
    retries: int

    def write(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Write every pair, ``batch_size`` per pipelined round trip; return how many replaced
        or created a value (the others were older than what the store holds)."""
        client = connect(self.url)
        script = client.register_script(_WRITE_IF_NEWER)
        ttl = str(self.ttl_seconds or 0)
        applied = 0
        try:
            for chunk in _chunks(pairs, self.batch_size):

                def send(chunk: Sequence[tuple[str, str]] = chunk) -> list[Any]:
                    pipe = client.pipeline(transaction=False)
                    for key, value in chunk:
                        script(keys=[key], args=[value, ttl], client=pipe)
                    return list(pipe.execute())

                results = with_retries("write", self.url, self.retries, send)
                applied += sum(int(r) for r in results)
        finally:
            client.close()
        return applied


def _chunks(pairs: Iterable[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_many(client: redis.Redis, keys: Sequence[str]) -> list[Stored | None]:
    """The stored values of ``keys`` (None where missing), in one round trip."""
    if not keys:
        return []
    found = client.mget(keys)
    return [
        None if raw is None else decode(raw if isinstance(raw, bytes) else raw.encode())
        for raw in found
    ]
