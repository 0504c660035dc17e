"""Deterministic random columns for the demo data: hashes (``xxhash64``) of the seed, a row
key and a per-column salt, so the same arguments always give the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column

MS_PER_DAY = 86_400_000
_UNIFORM_BITS = 1 << 30


def epoch_ms(day: date) -> int:
    """Milliseconds since the epoch at the start of ``day`` (UTC)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)


class Rand:
    """Deterministic per-row random values: hashes of (seed, row key, salt)."""

    def __init__(self, seed: int, key: Column) -> None:
        self.seed = seed
        self.key = key

    def hash(self, salt: str) -> Column:
        from pyspark.sql import functions as F

        return F.xxhash64(F.lit(self.seed), self.key, F.lit(salt))

    def uniform(self, salt: str) -> Column:
        """A double in [0, 1)."""
        from pyspark.sql import functions as F

        return F.pmod(self.hash(salt), F.lit(_UNIFORM_BITS)).cast("double") / _UNIFORM_BITS

    def below(self, salt: str, n: int) -> Column:
        """A bigint in [0, n), uniform."""
        from pyspark.sql import functions as F

        return F.pmod(self.hash(salt), F.lit(n))

    def skewed_below(self, salt: str, n: int) -> Column:
        """A bigint in [0, n), small values more likely (popular pins, top feed slots)."""
        from pyspark.sql import functions as F

        return F.floor(F.pow(self.uniform(salt), 1.5) * n)

    def choice(self, salt: str, values: Sequence[str]) -> Column:
        """One of ``values``, uniformly."""
        from pyspark.sql import functions as F

        options = F.array(*[F.lit(v) for v in values])
        return F.element_at(options, (self.below(salt, len(values)) + 1).cast("int"))
