"""Online parity: does the store hold, for every group (or a sample), what the Delta table
holds? Compared on Spark's workers, one ``MGET`` per chunk of groups."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from spark_enrich.online.publish import DOCUMENT, KEY, OnlineSequences
from spark_enrich.online.store import connect, read_many, with_retries

if TYPE_CHECKING:
    from pyspark.sql import Row, SparkSession

    from spark_enrich.tables import TableRef

MISSING = "missing"
STALE = "stale"
LISTED = 20


@dataclass
class OnlineParity:
    """The outcome of a comparison: groups checked, and the keys missing from the store or
    holding another sequence than Delta (up to ``LISTED`` of each)."""

    version: int
    checked: int = 0
    missing: int = 0
    stale: int = 0
    missing_keys: list[str] = field(default_factory=list)
    stale_keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.stale == 0

    def summary(self) -> str:
        """One line per finding, for the command line."""
        lines = [
            f"online parity at Delta version {self.version}: {self.checked} groups checked, "
            f"{self.missing} missing, {self.stale} stale"
        ]
        if self.missing_keys:
            lines.append("missing: " + ", ".join(self.missing_keys))
        if self.stale_keys:
            lines.append("stale: " + ", ".join(self.stale_keys))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (``--format json``)."""
        return {
            "equal": self.ok,
            "version": self.version,
            "checked": self.checked,
            "missing": self.missing,
            "stale": self.stale,
            "missing_keys": list(self.missing_keys),
            "stale_keys": list(self.stale_keys),
        }


def check_online(
    spark: SparkSession,
    online: OnlineSequences,
    table: TableRef,
    *,
    sample: float | None = None,
    seed: int = 0,
    groups: int | None = None,
) -> OnlineParity:
    """Compare the store with the sequence table's latest version: every group, a ``sample``
    fraction of them, or ``groups`` of them (the same ones each time: the first by a hash of
    their key). A group whose stored sequence differs from Delta's is stale (an older
    version, or written from another table), one the store lacks is missing."""
    version, sequences = online.snapshot(spark, table)
    if sample is not None:
        sequences = sequences.sample(fraction=sample, seed=seed)
    documents = online.documents(sequences)
    if groups is not None:
        documents = documents.orderBy(F.xxhash64(KEY), KEY).limit(groups)
    writer = online.writer

    def compare(rows: Iterable[Row]) -> Iterator[tuple[str, str]]:
        client = connect(writer.url)
        try:
            batch = list(rows)
            for start in range(0, len(batch), writer.batch_size):
                chunk = batch[start : start + writer.batch_size]
                keys = [r[KEY] for r in chunk]
                found = with_retries(
                    "read", writer.url, writer.retries, lambda keys=keys: read_many(client, keys)
                )
                for row, stored in zip(chunk, found, strict=True):
                    if stored is None:
                        yield row[KEY], MISSING
                    elif stored.document.decode() != row[DOCUMENT]:
                        yield row[KEY], STALE
                    else:
                        yield row[KEY], "ok"
        finally:
            client.close()

    results = spark.createDataFrame(
        documents.rdd.mapPartitions(compare), "key STRING, status STRING"
    )
    report = OnlineParity(version)
    for row in results.groupBy("status").count().collect():
        if row["status"] == MISSING:
            report.missing = int(row["count"])
        elif row["status"] == STALE:
            report.stale = int(row["count"])
        report.checked += int(row["count"])
    for status, keys in ((MISSING, report.missing_keys), (STALE, report.stale_keys)):
        listed = results.where(F.col("status") == status).orderBy("key").limit(LISTED)
        keys.extend(r["key"] for r in listed.collect())
    return report
