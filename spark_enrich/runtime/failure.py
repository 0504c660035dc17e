"""Why a stream stopped, in words an operator can act on.

Spark reports a failed ``foreachBatch`` as "An exception was raised by the Python Proxy", and a
failed source as a ``StreamingQueryException`` whose message is a query plan: the cause is at
the end of a chain of wrapped exceptions (Python, Py4J, Java). :func:`explain` finds the root
cause and says whether a restart can help: a broker that was down can come back, but a topic
that does not exist, records that are gone or a damaged checkpoint fail the same way again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spark_enrich.errors import SparkEnrichError
from spark_enrich.sources import KafkaSource

if TYPE_CHECKING:
    from spark_enrich.sources import Source

_MAX_CAUSE = 1500
_MAX_CHAIN = 32

# Delta's streaming source at a commit that rewrote rows (an upstream backfill, a DELETE inside
# files) or removed whole files (a retention DELETE by partition).
_UPSTREAM_REWRITE = ("DELTA_SOURCE_TABLE_IGNORE_CHANGES", "DELTA_SOURCE_IGNORE_DELETE")
_DATA_LOSS = ("KAFKA_DATA_LOSS", "OffsetOutOfRangeException", "Some data may have been lost")
_UNKNOWN_TOPIC = ("UnknownTopicOrPartitionException", "InvalidTopicException")
_CLIENT_CONFIG = (
    "AuthenticationException",
    "AuthorizationException",
    "org.apache.kafka.common.config.ConfigException",
    "UnsupportedVersionException",
)
_CHECKPOINT_IN_USE = ("CONCURRENT_STREAM_LOG_UPDATE", "ConcurrentModificationException")
_CHECKPOINT_DAMAGED = (
    "CHECKPOINT_FILE_CHECKSUM_VERIFICATION_FAILED",
    "STREAMING_CHECKPOINT_MISSING_METADATA_FILE",
    "CANNOT_LOAD_STATE_STORE",
    "Log file was malformed",
    "UnsupportedLogVersion",
    "INVALID_CHECKPOINT",
)
_UNREACHABLE = ("org.apache.kafka.common.errors.TimeoutException", "Connection refused")


@dataclass(frozen=True)
class Failure:
    """A failed stream, explained.

    Attributes:
        kind: ``transient`` (a restart resumes, once the cause is gone) or a permanent kind:
            ``unknown_topic``, ``data_loss``, ``upstream_rewrite``, ``client_config``,
            ``checkpoint_in_use``, ``checkpoint_damaged``.
        cause: the root cause, ``class: message``.
        advice: what to do, for this kind.
    """

    kind: str
    cause: str
    advice: str


@dataclass(frozen=True)
class BatchFailure:
    """What ``foreachBatch`` raised, kept in Python before Py4J flattens it into text."""

    batch_id: int
    error: BaseException


def _first_line(text: str) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line if len(line) <= _MAX_CAUSE else line[:_MAX_CAUSE] + " …"


def _java_chain(throwable: Any) -> list[tuple[str, str]]:
    """``(class name, message)`` of a Java throwable and of each of its causes, outermost first."""
    chain: list[tuple[str, str]] = []
    while throwable is not None and len(chain) < _MAX_CHAIN:
        message = throwable.getMessage()
        chain.append((str(throwable.getClass().getName()), "" if message is None else str(message)))
        cause = throwable.getCause()
        if cause is None or cause.equals(throwable):
            break
        throwable = cause
    return chain


def _python_chain(error: BaseException) -> list[tuple[str, str]]:
    """The chain of a Python exception (``raise ... from``), continued into Java where a Py4J
    error carries a Java throwable."""
    chain: list[tuple[str, str]] = []
    current: BaseException | None = error
    while current is not None and len(chain) < _MAX_CHAIN:
        java = getattr(current, "java_exception", None)  # py4j's Py4JJavaError
        if java is None:
            origin = getattr(current, "_origin", None)  # a pyspark CapturedException
            java = origin if origin is not None and hasattr(origin, "getCause") else None
        if java is not None:
            try:
                return chain + _java_chain(java)
            except Exception:  # the JVM is gone: the Python side is all there is
                java = None
        name = type(current).__qualname__
        module = type(current).__module__
        qualified = name if module == "builtins" else f"{module}.{name}"
        text = current.message if isinstance(current, SparkEnrichError) else str(current)
        if isinstance(current, SparkEnrichError):
            text = f"[{current.error_class}] {text}"
        chain.append((qualified, text))
        current = current.__cause__
    return chain


def _root(chain: list[tuple[str, str]]) -> str:
    """The innermost cause that says something (Spark wraps causes in messageless layers)."""
    for name, message in reversed(chain):
        if message.strip():
            return f"{name}: {_first_line(message)}"
    return chain[-1][0] if chain else "unknown cause"


def explain(
    query_error: BaseException,
    java_error: Any,
    batch_failure: BatchFailure | None,
    *,
    source: Source,
    checkpoint: str,
) -> tuple[Failure, int | None]:
    """The root cause of a failed stream and what to do; the failed micro-batch when it is known.

    Args:
        query_error: what ``StreamingQuery.exception()`` returned.
        java_error: the Java ``StreamingQueryException`` (None when not at hand).
        batch_failure: what ``foreachBatch`` raised, if the failure was in a micro-batch.
        source: the streamed source.
        checkpoint: the stream's checkpoint location.
    """
    try:
        chain = _java_chain(java_error) if java_error is not None else []
    except Exception:  # the JVM is gone: explain from what Python holds, never fail here
        chain = []
    if not chain:
        chain = [(type(query_error).__qualname__, str(query_error))]
    in_batch = batch_failure is not None and any(
        "Python Proxy" in message or "FOREACH_BATCH" in message for _, message in chain
    )
    batch_id = None
    if in_batch and batch_failure is not None:
        chain = _python_chain(batch_failure.error)
        batch_id = batch_failure.batch_id
    elif len(chain) > 1 and chain[0][0].endswith("StreamingQueryException"):
        chain = chain[1:]  # its message repeats the cause's, after the query's plan and options
    cause = _root(chain)
    engine = batch_failure.error if in_batch and batch_failure is not None else None
    if isinstance(engine, SparkEnrichError):  # the engine's own words name what failed
        own = f"[{engine.error_class}] {_first_line(engine.message)}"
        cause = own if cause.split(": ", 1)[-1] in own else f"{own} (cause: {cause})"
    text = "\n".join(f"{name}: {message}" for name, message in chain)
    return _classify(text, cause, source, checkpoint), batch_id


def _has(text: str, needles: tuple[str, ...]) -> bool:
    return any(needle in text for needle in needles)


def _classify(text: str, cause: str, source: Source, checkpoint: str) -> Failure:
    name = source.name
    kafka = source if isinstance(source, KafkaSource) else None
    if _has(text, _UPSTREAM_REWRITE):
        return Failure(
            "upstream_rewrite",
            cause,
            "The source table had rows deleted or rewritten (an upstream backfill or retention "
            "delete), and a restart stops at the same commit: set skip_change_commits: true on "
            "the Delta source to go on past such commits, then backfill this pipeline over the "
            "rewritten range.",
        )
    if _has(text, _DATA_LOSS):
        return Failure(
            "data_loss",
            cause,
            "Records this stream has not processed yet are no longer in Kafka (aged out by "
            "retention, or the topic was deleted or re-created), so a restart fails the same "
            f"way. To go on past the gap, set fail_on_data_loss: false on source {name!r} (what "
            "is gone is skipped; backfill it from an archive that still holds it), or point "
            "runtime.stream.checkpoint at a new folder (starting_offsets says where it begins).",
        )
    if _has(text, _UNKNOWN_TOPIC):
        return _unknown_topic(cause, name, kafka)
    if _has(text, _CLIENT_CONFIG):
        return Failure(
            "client_config",
            cause,
            f"Kafka refused the client of source {name!r}: check its bootstrap_servers and "
            "options (security protocol, credentials, ACLs). A restart without changing them "
            "fails the same way; with them fixed, the stream resumes from its checkpoint.",
        )
    if _has(text, _CHECKPOINT_IN_USE):
        return Failure(
            "checkpoint_in_use",
            cause,
            f"Another stream writes to checkpoint {checkpoint}: only one may run on a "
            "checkpoint. Stop the other one; this one then resumes from the checkpoint.",
        )
    if _has(text, _CHECKPOINT_DAMAGED):
        return Failure(
            "checkpoint_damaged",
            cause,
            f"Checkpoint {checkpoint} cannot be used as it is, so a restart fails the same way: "
            "restore it from a copy, or point runtime.stream.checkpoint at a new folder "
            "(starting_offsets says where it begins) and backfill the gap.",
        )
    unreachable = ""
    if _has(text, _UNREACHABLE) and kafka:
        unreachable = f"Kafka at {kafka.bootstrap_servers} did not answer in time. "
    return Failure(
        "transient",
        cause,
        f"{unreachable}The checkpoint did not move past the failed micro-batch. Restart it once "
        "the cause is gone: it resumes from its checkpoint without loss or duplicates.",
    )


def _unknown_topic(cause: str, name: str, kafka: KafkaSource | None) -> Failure:
    """A topic of the source is missing on the broker: which one, and what a restart needs."""
    topics = kafka.topics if kafka else None
    pattern = kafka.pattern if kafka else None
    which = ", ".join(topics) if topics else f"the topics matching {pattern!r}"
    return Failure(
        "unknown_topic",
        cause,
        f"A topic of source {name!r} ({which}) does not exist on "
        f"{kafka.bootstrap_servers if kafka else 'the broker'}: not created yet, deleted, "
        "or misspelled. A restart fails the same way until it exists: create it, or "
        "correct the source's topics. (A topic deleted and created again starts its offsets "
        "anew: point runtime.stream.checkpoint at a new folder for it.)",
    )
