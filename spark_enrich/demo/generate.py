"""Synthetic, deterministic demo data for the pin-sharing example domain.

Everything is built from ``spark.range(n)`` with hash-based expressions (``xxhash64`` of the
seed, the row id and a per-column salt), so a million events generate in seconds on a laptop,
and the same arguments always give the same rows, in batch or when produced to Kafka.

The raw events are what clients would produce to Kafka: topic ``engagement`` for ``pin_*``
events and ``search`` for ``search_query``, key = user id, value = the event as JSON text.
A share of them is deliberately bad (see :data:`BAD_KINDS`) and a share repeats an earlier
event's exact value, so that dead-lettering and deduplication have something to do.

This module is engine-side tooling: it may do I/O, and it never imports the executors.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

# DemoDataError and produce_to_kafka moved to demo.produce; this import path stays.
from spark_enrich.demo.produce import DemoDataError as DemoDataError
from spark_enrich.demo.produce import produce_to_kafka as produce_to_kafka
from spark_enrich.demo.rand import MS_PER_DAY, Rand, epoch_ms

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

EVENT_MIX: tuple[tuple[str, float], ...] = (
    ("pin_impression", 0.45),
    ("pin_click", 0.25),
    ("pin_save", 0.10),
    ("pin_closeup", 0.08),
    ("search_query", 0.12),
)
"""Event types and their approximate shares of the good events."""

BAD_KINDS: tuple[str, ...] = (
    "truncated_json",
    "json_array",
    "missing_user_id",
    "missing_event_id",
    "unparseable_event_time",
    "wrong_type",
    "unknown_event_type",
)
"""The kinds of bad input, in equal shares among the ``bad_share`` rows:

- ``truncated_json``: the first half of the JSON text;
- ``json_array``: the event wrapped in a JSON array;
- ``missing_user_id`` / ``missing_event_id``: the field is absent (the Kafka key too, for the
  user id);
- ``unparseable_event_time``: ``"event_time": "yesterday"``;
- ``wrong_type``: ``"dwell_ms": "abc"``;
- ``unknown_event_type``: ``"event_type": "pin_teleport"``.
"""

BOT_SHARE = 0.02
UNKNOWN_PIN_SHARE = 0.05
EMPTY_QUERY_SHARE = 0.05
SHORT_CLOSEUP_SHARE = 0.15
DEEP_IMPRESSION_SHARE = 0.02

TOPICS = {"engagement": "pin_", "search": "search_"}
"""Kafka topic -> prefix of the event types produced to it."""

SURFACES = ("home_feed", "search", "related", "board", "profile")
CATEGORIES = (
    "food", "travel", "diy", "fashion", "home_decor", "art", "fitness", "beauty", "cars",
    "gardening", "photography", "weddings",
)  # fmt: skip
LANGUAGES = ("en", "en", "en", "en", "de", "fr", "es", "pt", "ja")
COUNTRIES = ("US", "US", "US", "GB", "DE", "FR", "BR", "JP", "IN", "CA", "MX", "ES")
QUERY_WORDS = (
    "summer", "outfits", "recipes", "vegan", "dinner", "nail", "art", "living", "room",
    "ideas", "tattoo", "garden", "wedding", "cake", "hairstyles", "kitchen", "tiny", "house",
    "workout", "cozy", "bedroom", "halloween", "costume", "christmas", "diy", "gifts",
)  # fmt: skip
BLANK_QUERIES = ("", "   ", "\t")
HUMAN_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 Version/17.2 Safari/605",
    "Pinterest for iOS/12.1 (iPhone15,2; iOS 17.2)",
)
BOT_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
    "Baiduspider+(+http://www.baidu.com/search/spider.htm)",
    "SiteCrawler/3.1",
)

_DUPLICATE_LOOKBACK = 1_000
_PIN_HISTORY_DAYS = 365
_USER_HISTORY_DAYS = 3 * 365


def id_spaces(n_events: int) -> tuple[int, int]:
    """``(n_pins, n_users)`` for ``n_events`` events: 1,000 users and 5,000 pins per 100k events."""
    return max(20, n_events // 20), max(10, n_events // 100)


DEFAULT_PINS, DEFAULT_USERS = id_spaces(100_000)


def _boards(n_pins: int) -> int:
    return max(1, n_pins // 10)


def _event_struct(
    r: Rand, *, n_pins: int, n_users: int, start_ms: int, days: int
) -> dict[str, Column]:
    """The fields of the good event generated for row key ``r.key``."""
    from pyspark.sql import functions as F

    u_type = r.uniform("event_type")
    event_type = F.lit(EVENT_MIX[-1][0])
    threshold = 0.0
    cases = []
    for name, share in EVENT_MIX[:-1]:
        threshold += share
        cases.append((threshold, name))
    chained = F.when(u_type < cases[0][0], F.lit(cases[0][1]))
    for bound, name in cases[1:]:
        chained = chained.when(u_type < bound, F.lit(name))
    event_type = chained.otherwise(event_type)
    is_type = {name: event_type == name for name, _ in EVENT_MIX}

    pin_index = F.when(
        r.uniform("unknown_pin") < UNKNOWN_PIN_SHARE, r.below("unknown_pin_id", n_pins) + n_pins
    ).otherwise(r.skewed_below("pin", n_pins))
    closeup_dwell = F.when(
        r.uniform("short_closeup") < SHORT_CLOSEUP_SHARE, r.below("short_dwell", 500)
    ).otherwise(500 + F.floor(r.uniform("closeup_dwell") ** 2 * 120_000))
    one_word = r.choice("word1", QUERY_WORDS)
    phrase = F.when(
        r.uniform("two_words") < 0.6, F.concat_ws(" ", one_word, r.choice("word2", QUERY_WORDS))
    ).otherwise(one_word)
    u_case = r.uniform("query_case")
    cased = (
        F.when(u_case < 0.15, F.upper(phrase))
        .when(u_case < 0.30, F.initcap(phrase))
        .when(u_case < 0.40, F.concat(F.lit("  "), phrase, F.lit(" ")))
        .otherwise(phrase)
    )
    query = F.when(
        r.uniform("blank_query") < EMPTY_QUERY_SHARE, r.choice("blank", BLANK_QUERIES)
    ).otherwise(cased)
    impression_position = F.when(
        r.uniform("deep") < DEEP_IMPRESSION_SHARE, 100 + r.below("deep_position", 100)
    ).otherwise(r.skewed_below("position", 60))
    event_ts = F.timestamp_millis(F.lit(start_ms) + r.below("event_time", days * MS_PER_DAY))
    # Render the instant in UTC whatever the session time zone is.
    utc_wall_clock = F.to_utc_timestamp(event_ts, F.current_timezone())

    def only(condition: Column, value: Column) -> Column:
        return F.when(condition, value)

    return {
        "event_id": F.concat(
            F.lit("evt_"),
            F.substring(F.sha2(F.concat_ws(":", F.lit(r.seed), r.key.cast("string")), 256), 1, 24),
        ),
        "event_type": event_type,
        "user_id": F.format_string("u%07d", r.below("user", n_users)),
        "event_time": F.date_format(utc_wall_clock, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
        "pin_id": only(~is_type["search_query"], F.format_string("p%08d", pin_index)),
        "board_id": only(
            is_type["pin_save"], F.format_string("b%07d", r.below("board", _boards(n_pins)))
        ),
        "surface": F.when(is_type["search_query"], F.lit("search")).otherwise(
            r.choice("surface", SURFACES)
        ),
        "dwell_ms": F.when(is_type["pin_closeup"], closeup_dwell)
        .when(is_type["pin_click"], 100 + F.floor(r.uniform("click_dwell") ** 2 * 60_000))
        .cast("bigint"),
        "query": only(is_type["search_query"], query),
        "position": F.when(is_type["pin_impression"], impression_position)
        .when(is_type["pin_click"], r.below("click_position", 50))
        .cast("int"),
        "user_agent": F.when(
            r.uniform("bot") < BOT_SHARE, r.choice("bot_agent", BOT_AGENTS)
        ).otherwise(r.choice("agent", HUMAN_AGENTS)),
    }


def generate_raw_events(
    spark: SparkSession,
    n: int,
    *,
    seed: int = 7,
    start: date = date(2026, 1, 1),
    days: int = 7,
    bad_share: float = 0.01,
    duplicate_share: float = 0.01,
    n_pins: int | None = None,
    n_users: int | None = None,
) -> DataFrame:
    """Raw events as a client would produce them to Kafka.

    Args:
        spark: the session to build the frame in (nothing is computed until an action).
        n: number of rows.
        seed: the same seed (and other arguments) gives the same rows.
        start: first UTC day of the events.
        days: events are spread uniformly over ``days`` days from ``start``.
        bad_share: share of rows made bad, spread evenly over :data:`BAD_KINDS`.
        duplicate_share: share of rows that repeat the exact topic, key and value of an
            earlier row (within the previous 1,000 rows).
        n_pins: size of the pin id space (default: :func:`id_spaces`); about 5% of pin events
            name a pin outside it, which the pins table does not know.
        n_users: size of the user id space (default: :func:`id_spaces`).

    Returns:
        ``topic STRING, key STRING, value STRING, event_date DATE``; ``event_date`` is the UTC
        date of the event (also for bad rows, whose JSON may not say it).

    Example:
        >>> raw = generate_raw_events(spark, 100_000, seed=1)  # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    if n < 0 or days < 1 or not (0 <= bad_share <= 1) or not (0 <= duplicate_share <= 1):
        raise DemoDataError(
            "INVALID_DEMO_ARGUMENT",
            f"Expected n >= 0, days >= 1 and shares in [0, 1]; got n={n}, days={days}, "
            f"bad_share={bad_share}, duplicate_share={duplicate_share}",
            {"n": n, "days": days, "bad_share": bad_share, "duplicate_share": duplicate_share},
        )
    default_pins, default_users = id_spaces(n)
    n_pins = n_pins or default_pins
    n_users = n_users or default_users
    start_ms = epoch_ms(start)

    # A duplicate row copies row `id - lookback`, unless that row is itself a duplicate: then
    # the copy would not equal any earlier value.
    row_id = F.col("id")
    lookback = 1 + Rand(seed, row_id).below("dup_offset", _DUPLICATE_LOOKBACK)
    is_dup = Rand(seed, row_id).uniform("duplicate") < duplicate_share
    source_is_dup = Rand(seed, row_id - lookback).uniform("duplicate") < duplicate_share
    source = F.when(is_dup & (row_id >= lookback) & ~source_is_dup, row_id - lookback).otherwise(
        row_id
    )

    frame = spark.range(n).withColumn("_g_src", source)
    r = Rand(seed, F.col("_g_src"))
    fields = _event_struct(r, n_pins=n_pins, n_users=n_users, start_ms=start_ms, days=days)
    event_ms = F.lit(start_ms) + r.below("event_time", days * MS_PER_DAY)

    is_bad = r.uniform("bad") < bad_share
    kind = F.when(
        is_bad,
        F.element_at(
            F.array(*map(F.lit, BAD_KINDS)), (r.below("bad_kind", len(BAD_KINDS)) + 1).cast("int")
        ),
    )

    def bad_unless(bad_kind: str, value: Column) -> Column:
        return F.when(F.coalesce(kind == bad_kind, F.lit(False)), F.lit(None)).otherwise(value)

    fields["event_id"] = bad_unless("missing_event_id", fields["event_id"])
    fields["user_id"] = bad_unless("missing_user_id", fields["user_id"])
    fields["dwell_ms"] = bad_unless("wrong_type", fields["dwell_ms"])
    fields["event_time"] = F.when(kind == "unparseable_event_time", F.lit("yesterday")).otherwise(
        fields["event_time"]
    )
    fields["event_type"] = F.when(kind == "unknown_event_type", F.lit("pin_teleport")).otherwise(
        fields["event_type"]
    )
    frame = frame.withColumns(
        {
            "_g_event": F.struct(*[col.alias(name) for name, col in fields.items()]),
            "_g_kind": kind,
        }
    ).withColumn("_g_json", F.to_json(F.col("_g_event")))

    json_text = F.col("_g_json")
    value = (
        F.when(
            F.col("_g_kind") == "truncated_json",
            json_text.substr(F.lit(1), F.floor(F.length(json_text) / 2).cast("int")),
        )
        .when(F.col("_g_kind") == "json_array", F.concat(F.lit("["), json_text, F.lit("]")))
        .when(
            F.col("_g_kind") == "wrong_type",
            F.concat(F.lit('{"dwell_ms":"abc",'), json_text.substr(F.lit(2), F.length(json_text))),
        )
        .otherwise(json_text)
    )
    return frame.select(
        F.when(F.col("_g_event.event_type") == "search_query", F.lit("search"))
        .otherwise(F.lit("engagement"))
        .alias("topic"),
        F.col("_g_event.user_id").alias("key"),
        value.alias("value"),
        F.date_from_unix_date(F.floor(event_ms / MS_PER_DAY).cast("int")).alias("event_date"),
    )


def generate_offline_tables(
    spark: SparkSession,
    *,
    seed: int = 7,
    n_pins: int = DEFAULT_PINS,
    n_users: int = DEFAULT_USERS,
    start: date = date(2026, 1, 1),
) -> tuple[DataFrame, DataFrame]:
    """The ``pins`` and ``users`` offline tables for the id spaces of :func:`generate_raw_events`.

    Args:
        spark: the session to build the frames in.
        seed: the same seed gives the same rows.
        n_pins: pins ``p00000000`` .. ``p{n_pins-1:08d}``, one row each.
        n_users: users ``u0000000`` .. ``u{n_users-1:07d}``, one row each.
        start: pins and users were all created before this UTC day (within one and three years).

    Returns:
        ``(pins, users)``: ``pin_id, board_id, category, language, created_at`` and
        ``user_id, country, signup_time``.
    """
    from pyspark.sql import functions as F

    start_ms = epoch_ms(start)
    pin = Rand(seed, F.col("id"))
    pins = spark.range(n_pins).select(
        F.format_string("p%08d", F.col("id")).alias("pin_id"),
        F.format_string("b%07d", pin.below("pin_board", _boards(n_pins))).alias("board_id"),
        pin.choice("pin_category", CATEGORIES).alias("category"),
        pin.choice("pin_language", LANGUAGES).alias("language"),
        F.timestamp_millis(
            F.lit(start_ms) - 1 - pin.below("pin_created", _PIN_HISTORY_DAYS * MS_PER_DAY)
        ).alias("created_at"),
    )
    user = Rand(seed, F.col("id"))
    users = spark.range(n_users).select(
        F.format_string("u%07d", F.col("id")).alias("user_id"),
        user.choice("user_country", COUNTRIES).alias("country"),
        F.timestamp_millis(
            F.lit(start_ms) - 1 - user.below("user_signup", _USER_HISTORY_DAYS * MS_PER_DAY)
        ).alias("signup_time"),
    )
    return pins, users


def write_demo_data(
    spark: SparkSession, base_dir: str | Path, n: int, seed: int = 7
) -> dict[str, str]:
    """Write the demo Delta tables ``raw`` (partitioned by ``event_date``), ``pins`` and
    ``users`` under ``base_dir``, replacing earlier contents.

    Returns:
        ``{"raw": path, "pins": path, "users": path}``.
    """
    base = Path(base_dir).resolve()
    n_pins, n_users = id_spaces(n)
    raw = generate_raw_events(spark, n, seed=seed, n_pins=n_pins, n_users=n_users)
    pins, users = generate_offline_tables(spark, seed=seed, n_pins=n_pins, n_users=n_users)
    paths = {name: str(base / name) for name in ("raw", "pins", "users")}
    tables: dict[str, tuple[DataFrame, list[str]]] = {
        "raw": (raw, ["event_date"]),
        "pins": (pins, []),
        "users": (users, []),
    }
    for name, (df, partition_by) in tables.items():
        writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.save(paths[name])
    return paths
