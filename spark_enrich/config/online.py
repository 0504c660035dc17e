"""The online store of a ``sequence`` sink (``sink.online``): where serving reads sequences.

The URL may carry a password (``redis://:secret@host:6379/0``) or ask for TLS (``rediss://``);
it is kept as a secret: the model's repr, dumps and every message show it redacted.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr
from pydantic_core import PydanticCustomError

from spark_enrich.config.types import Duration, Int

_STORE_URL = re.compile(r"^(rediss?://[^\s/]*(/\d{1,2})?|unix:///\S+)$")


def redact_url(url: str) -> str:
    """``url`` without its credentials (``redis://***@host:6379/0``): what may be shown."""
    return re.sub(r"^(\w+://)[^@/]*@", r"\1***@", url)


def _store_url(value: SecretStr) -> SecretStr:
    url = value.get_secret_value()
    if not _STORE_URL.match(url):
        raise PydanticCustomError(
            "BAD_STORE_URL",
            "'{value}' is not a Redis URL",
            {
                "value": redact_url(url),
                "shown": redact_url(url),
                "allowed": "redis://[:password@]host[:port][/db], rediss://... (TLS) or "
                "unix:///path/to/socket",
                "example": "redis://127.0.0.1:6379/0",
            },
        )
    return value


StoreUrl = Annotated[SecretStr, AfterValidator(_store_url)]


class OnlineStore(BaseModel):
    """A Redis-protocol store (Redis, Valkey) that every fold of the sequence sink also writes
    to, one key per group; the Delta table stays the source of truth."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: StoreUrl = Field(
        description="Redis URL of the store: `redis://[:password@]host[:port][/db]`, "
        "`rediss://` for TLS. Never logged; write `${VAR}` to keep a password out of the file."
    )
    key_prefix: str = Field(
        default="seq:",
        min_length=1,
        max_length=200,
        description="Prefix of every key; a group's key is the prefix followed by its "
        "`group_by` values joined with `:`.",
    )
    ttl: Duration | None = Field(
        default=None,
        description="Expiry of a key after its last write (`30d`); null = never. A group that "
        "is not written again within it disappears from the store, not from Delta.",
    )
    format: Literal["json"] = Field(
        default="json",
        description="Encoding of the stored value: `json` (the sequence in the output "
        "contract's types; timestamps as ISO-8601 text).",
    )
    batch_size: Int = Field(
        default=500,
        gt=0,
        le=10_000,
        description="Writes per pipelined round trip to the store, per Spark partition.",
    )
    retries: Int = Field(
        default=5,
        ge=0,
        le=20,
        description="Retries (exponential backoff from 0.2 s) of a failing store before the "
        "batch fails, before its checkpoint moves.",
    )

    def ttl_seconds(self) -> int | None:
        """The expiry in whole seconds (at least one), or None."""
        if self.ttl is None:
            return None
        return max(1, int(self.ttl / timedelta(seconds=1)))
