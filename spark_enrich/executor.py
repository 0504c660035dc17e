"""The executor contract: per-event-type business logic as four pure DataFrame stages.

An executor never reads, writes, collects or changes session settings; the engine hands it the
decoded events and, in :meth:`Executor.enrich`, an :class:`~spark_enrich.context.EnrichContext`
through which it reaches the offline tables and enrichment services the configuration declares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from spark_enrich.context import EnrichContext

STAGES = ("filter", "featurise", "enrich", "normalise")


@dataclass(frozen=True)
class ExecutorSpec:
    """What an executor declares about itself; recorded by :func:`executor`, read by the engine."""

    name: str
    version: str
    event_types: tuple[str, ...]
    params_model: type[BaseModel] | None = None
    tables: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    description: str = ""
    origin: str = field(default="", compare=False)


class Executor:
    """Base class of executors. Override any of the four stages; each defaults to identity.

    Subclasses are declared with the :func:`executor` decorator, which sets :attr:`spec`.
    ``self.params`` holds the executor's validated params model (or ``None``).

    Example:
        >>> from pyspark.sql import functions as F
        >>> @executor(name="clicks", version="1.0.0", event_types=["pin_click"])
        ... class Clicks(Executor):
        ...     def filter(self, df):
        ...         return df.where(~F.col("is_bot"))
    """

    spec: ClassVar[ExecutorSpec]

    def __init__(self, params: BaseModel | None = None) -> None:
        self.params = params

    def filter(self, df: DataFrame) -> DataFrame:
        """Keep the events that produce output; the rest are counted as ``filtered``."""
        return df

    def featurise(self, df: DataFrame) -> DataFrame:
        """Add per-event features with native Spark expressions."""
        return df

    def enrich(self, df: DataFrame, ctx: EnrichContext) -> DataFrame:
        """Join offline tables and call enrichment services through ``ctx``, by logical name."""
        return df

    def normalise(self, df: DataFrame) -> DataFrame:
        """Map to the pipeline's output contract (the engine casts and checks afterwards)."""
        return df


E = TypeVar("E", bound=type[Executor])


def executor(
    *,
    name: str,
    version: str,
    event_types: Sequence[str],
    params: type[BaseModel] | None = None,
    tables: Sequence[str] = (),
    services: Sequence[str] = (),
    registry: Any = None,
) -> Callable[[E], E]:
    """Declare an executor class and register it.

    Declaring does not run anything: the decorator records a frozen :class:`ExecutorSpec` on
    the class and adds the class to the registry (the default one unless ``registry`` is given).

    Args:
        name: the name pipelines use to refer to the executor; unique per registry.
        version: the executor's own version, recorded with every output row and Delta commit.
        event_types: the event types this executor handles.
        params: a pydantic model validating the executor's ``params`` in the configuration.
        tables: logical names of the offline tables the executor joins (must be declared in
            the pipeline's ``enrichments.tables``).
        services: logical names of the enrichment services it calls.
        registry: the registry to add to (default: the process-wide registry).

    Raises:
        RegistryError: the class is not an :class:`Executor`, or the name is already taken.
    """

    def decorate(cls: E) -> E:
        from spark_enrich.registry import ExecutorRegistry, default_registry

        if not (isinstance(cls, type) and issubclass(cls, Executor)):
            from spark_enrich.errors import RegistryError

            raise RegistryError(
                "NOT_AN_EXECUTOR",
                f"@executor(name={name!r}) decorates {cls!r}, which is not a subclass of "
                "spark_enrich.Executor",
                {"name": name},
            )
        cls.spec = ExecutorSpec(
            name=name,
            version=version,
            event_types=tuple(event_types),
            params_model=params,
            tables=tuple(tables),
            services=tuple(services),
            description=(cls.__doc__ or "").strip().split("\n")[0],
            origin=f"{cls.__module__}.{cls.__qualname__}",
        )
        target: ExecutorRegistry = registry if registry is not None else default_registry()
        target.register(cls)
        return cls

    return decorate
