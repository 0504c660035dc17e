"""``spark-enrich online sync``: (re)load the online store from the Delta sequence table — a new
store (bootstrap), a store that lost its data (disaster recovery), a table that was recreated.

The table is read at one version and its groups are split into buckets by a hash of their key;
one Spark task writes one bucket (pipelined, :class:`~spark_enrich.online.store.StoreWriter`)
and then records it as loaded in a progress marker kept in the store itself, a hash at
``spark-enrich:sync:<key_prefix>`` (beside the data it describes: a store that lost its data
lost its marker too, and starts over). A sync cut short (a crash, a store that went down) is
continued by the next one: same version, only the buckets not loaded yet. Every write goes
through the store's compare-and-set on the Delta version, so a sync beside a running stream
never rolls a user back. When the Delta table was recreated (its table id changed), its versions
start again at 0: the sync first deletes every key under the prefix, then loads.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from spark_enrich import crashpoints
from spark_enrich.online.publish import KEY, VALUE, OnlineSequences, on_workers
from spark_enrich.online.store import connect, with_retries

if TYPE_CHECKING:
    import redis
    from pyspark.sql import SparkSession

    from spark_enrich.tables import TableRef

MARKER_PREFIX = "spark-enrich:sync:"
ROWS_PER_BUCKET = 10_000
MAX_BUCKETS = 4096
WIPING, LOADING, DONE = "wiping", "loading", "done"
_BUCKET = "b:"

Progress = Callable[[int, int], None]
"""Called with (groups loaded, groups in the table) as buckets finish."""


def marker_key(key_prefix: str) -> str:
    """The key of the progress marker of the store's groups under ``key_prefix``."""
    return MARKER_PREFIX + key_prefix


@dataclass(frozen=True)
class SyncState:
    """The progress marker: which table and version is being loaded, and what is loaded."""

    table_id: str
    version: int
    buckets: int
    rows: int
    state: str
    done: dict[int, int]

    @property
    def loaded(self) -> int:
        """Groups in the buckets loaded so far."""
        return sum(self.done.values())


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def read_state(client: redis.Redis, key: str) -> SyncState | None:
    """The marker at ``key``, or None when there is none (or it is not a marker)."""
    fields = {_text(k): _text(v) for k, v in client.hgetall(key).items()}
    try:
        return SyncState(
            table_id=fields["table_id"],
            version=int(fields["version"]),
            buckets=int(fields["buckets"]),
            rows=int(fields["rows"]),
            state=fields["state"],
            done={int(k[len(_BUCKET) :]): int(v) for k, v in fields.items() if k[:2] == _BUCKET},
        )
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class SyncReport:
    """What a sync did.

    Attributes:
        table_id, version: the Delta table and the version loaded.
        rows: groups in the table at that version.
        buckets: buckets of the load; ``resumed``: those a previous run had loaded already.
        written: values this run created or replaced (the others were as new in the store).
        wiped: keys deleted first (the table was recreated, or ``reset``).
    """

    table_id: str
    version: int
    rows: int
    buckets: int
    resumed: int
    written: int
    wiped: int

    def summary(self) -> str:
        """One line for the command line."""
        resumed = f", {self.resumed} loaded before (resumed)" if self.resumed else ""
        wiped = f"; {self.wiped} keys of the old table deleted first" if self.wiped else ""
        return (
            f"online sync: {self.rows} groups at Delta version {self.version} in "
            f"{self.buckets} buckets{resumed}; {self.written} values written{wiped}"
        )


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def wipe(client: redis.Redis, key_prefix: str) -> int:
    """Delete every key under ``key_prefix`` but the sync marker; return how many."""
    keep = marker_key(key_prefix).encode()
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=_glob_escape(key_prefix) + "*", count=1000):
        if key != keep:
            batch.append(key)
        if len(batch) >= 1000:
            deleted += int(client.unlink(*batch))
            batch = []
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted


def table_id(spark: SparkSession, table: TableRef) -> str:
    """The Delta table's id: it changes when the table is dropped and created again."""
    row = table.delta_table(spark).detail().select("id").first()
    assert row is not None
    return str(row["id"])


def sync_store(
    spark: SparkSession,
    online: OnlineSequences,
    table: TableRef,
    *,
    reset: bool = False,
    buckets: int | None = None,
    on_progress: Progress | None = None,
) -> SyncReport:
    """Load every group of the sequence ``table`` into the store, continuing an unfinished load
    of the same table.

    Args:
        reset: delete every key under the prefix first, and start a new load.
        buckets: units of resumption of a new load (default: one per ~10,000 groups).
        on_progress: called with (groups loaded, groups in the table) while loading.

    Raises:
        PipelineRunError: ``ONLINE_STORE_UNAVAILABLE`` when the store fails past its retries;
            the buckets loaded before stay recorded, a re-run continues after them.
    """
    writer = online.writer
    key = marker_key(online.key_prefix)
    client = connect(writer.url)
    try:
        current = table_id(spark, table)
        state = with_retries("read", writer.url, writer.retries, lambda: read_state(client, key))
        recreated = state is not None and state.table_id != current
        if state is None or reset or recreated or state.state == DONE:
            state = _new_load(spark, online, table, current, buckets, wipe_first=reset or recreated)
        wiped = 0
        if state.state == WIPING:  # new, or a wipe cut short: deleting again is harmless
            wiped = with_retries(
                "wipe", writer.url, writer.retries, lambda: wipe(client, online.key_prefix)
            )
            client.hset(key, "state", LOADING)
        resumed = len(state.done)
        written = _load(spark, online, table, state, key, client, on_progress)
        client.hset(key, "state", DONE)
    finally:
        client.close()
    return SyncReport(
        state.table_id, state.version, state.rows, state.buckets, resumed, written, wiped
    )


def _new_load(
    spark: SparkSession,
    online: OnlineSequences,
    table: TableRef,
    current: str,
    buckets: int | None,
    *,
    wipe_first: bool,
) -> SyncState:
    """Record a new load of the table's latest version in the marker (wiping first or not)."""
    version, sequences = online.snapshot(spark, table)
    rows = sequences.count()
    count = buckets or max(1, min(MAX_BUCKETS, math.ceil(rows / ROWS_PER_BUCKET)))
    state = SyncState(current, version, count, rows, WIPING if wipe_first else LOADING, {})
    client = connect(online.writer.url)
    try:
        key = marker_key(online.key_prefix)
        fields = {
            "table_id": current,
            "version": version,
            "buckets": count,
            "rows": rows,
            "state": state.state,
        }

        def record() -> None:
            pipe = client.pipeline(transaction=True)
            pipe.delete(key)
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            pipe.execute()

        with_retries("write", online.writer.url, online.writer.retries, record)
    finally:
        client.close()
    return state


def _load(
    spark: SparkSession,
    online: OnlineSequences,
    table: TableRef,
    state: SyncState,
    key: str,
    client: redis.Redis,
    on_progress: Progress | None,
) -> int:
    """Write the buckets the marker lacks, one Spark task each; return the values written."""
    done = set(state.done)
    _, sequences = online.snapshot(spark, table, state.version)
    bucket = F.pmod(F.xxhash64(F.col(KEY)), F.lit(state.buckets)).cast("int")
    values = online.values(sequences, state.version).select(bucket.alias("b"), KEY, VALUE)
    if done:
        values = values.where(~F.col("b").isin(sorted(done)))
    keyed = values.rdd.map(lambda r: (r[0], (r[1], r[2])))
    writer, count = online.writer, state.buckets

    def load(index: int, rows: Iterable[tuple[int, tuple[str, str]]]) -> Iterator[int]:
        if index in done:
            return
        seen = [0]

        def pairs() -> Iterator[tuple[str, str]]:
            for _, pair in rows:
                seen[0] += 1
                yield pair

        written = writer.write(pairs())
        marker = connect(writer.url)
        try:
            with_retries(
                "write", writer.url, writer.retries,
                lambda: marker.hset(key, f"{_BUCKET}{index}", seen[0]),
            )  # fmt: skip
        finally:
            marker.close()
        crashpoints.reached("online-sync-bucket-loaded")
        yield written

    stop = threading.Event()
    watcher = None
    if on_progress is not None:
        on_progress(state.loaded, state.rows)
        watcher = threading.Thread(
            target=_watch, args=(client, key, state.rows, on_progress, stop), daemon=True
        )
        watcher.start()
    try:
        # One partition per bucket (the key is the bucket's number): a task loads one bucket.
        loading = keyed.partitionBy(count, lambda b: b).mapPartitionsWithIndex(load)
        written = on_workers(writer.url, lambda: int(loading.sum()))
    finally:
        stop.set()
        if watcher is not None:
            watcher.join()
    if on_progress is not None:
        final = read_state(client, key)
        on_progress(final.loaded if final else state.rows, state.rows)
    return written


def _watch(
    client: redis.Redis, key: str, total: int, on_progress: Progress, stop: threading.Event
) -> None:
    """Report the marker's progress twice a second until ``stop``."""
    while not stop.wait(0.5):
        try:
            state = read_state(client, key)
        except Exception:  # a store that is down fails the job itself; the display waits
            continue
        if state is not None:
            on_progress(state.loaded, total)
