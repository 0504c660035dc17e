"""What an executor's enrich stage may reach: offline tables and enrichment services, by the
logical names the configuration declares. The engine builds the context; executors only read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from spark_enrich.errors import ExecutorContractError
from spark_enrich.lookup import JoinHow, TableSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from spark_enrich.snapshots import SnapshotStore

# A service call as the engine implements it: (events, request columns, response prefix) -> events
ServiceCall = Callable[["DataFrame"], "DataFrame"]


class EnrichContext:
    """Offline tables and enrichment services for one executor, by logical name.

    A table with a spec is served prepared for its joins
    (:meth:`~spark_enrich.lookup.TableSpec.prepare`: one row per key, or per key and
    ``valid_from`` with ``as_of``), so an executor never deduplicates it. In a pipeline the
    engine's snapshots serve the tables (:meth:`from_snapshots`).

    Args:
        tables: logical name -> loader returning the table's DataFrame (called lazily, once).
        services: logical name -> function that enriches a DataFrame through that service.
        executor: the executor's name, for error messages.
        specs: logical name -> the table's configured keys, ``as_of`` and broadcast hint;
            a table without one is offered as loaded and cannot be used with :meth:`join`.
    """

    def __init__(
        self,
        tables: Mapping[str, Callable[[], DataFrame]],
        services: Mapping[str, ServiceCall] | None = None,
        executor: str = "",
        specs: Mapping[str, TableSpec] | None = None,
    ) -> None:
        self._tables = dict(tables)
        self._services = dict(services or {})
        self._specs = dict(specs or {})
        self._loaded: dict[str, DataFrame] = {}
        self._executor = executor
        self._snapshots: SnapshotStore | None = None

    @classmethod
    def from_snapshots(
        cls,
        snapshots: SnapshotStore,
        tables: Iterable[str],
        services: Mapping[str, ServiceCall] | None = None,
        executor: str = "",
    ) -> EnrichContext:
        """The engine's context: ``tables`` (logical names) are served from ``snapshots``,
        whichever snapshot is current when the executor's enrich stage runs."""
        names = list(tables)
        context = cls(
            {name: _unused for name in names},
            services,
            executor=executor,
            specs={name: snapshots.spec(name) for name in names},
        )
        context._snapshots = snapshots
        return context

    def table(self, name: str) -> DataFrame:
        """The offline table declared as ``name`` in ``enrichments.tables``: one row per key
        (for a table with ``as_of``: every version of every key); broadcast-hinted when
        configured.

        Raises:
            ExecutorContractError: ``UNDECLARED_TABLE`` when the executor did not declare the
                table or the pipeline did not configure it.
        """
        spec = self._specs.get(name)
        loaded = self._load(name)
        return spec.hinted(spec.visible(loaded)) if spec else loaded

    def join(self, name: str, events: DataFrame, *, how: JoinHow = "left") -> DataFrame:
        """``events`` joined with the offline table ``name`` as the configuration declares it:
        on its ``keys`` and, with ``as_of``, to the row valid at each event's time. Adds the
        table's other columns; ``left`` keeps unmatched events with nulls, ``inner`` drops
        them.

        Raises:
            ExecutorContractError: ``UNDECLARED_TABLE`` as for :meth:`table`;
                ``TABLE_JOIN_COLUMNS_MISSING`` when the events or the table lack a configured
                column; ``TABLE_JOIN_COLUMN_CLASH`` when a table column already exists in the
                events.
        """
        table = self._load(name)
        spec = self._specs.get(name)
        if spec is None:
            raise ExecutorContractError(
                "TABLE_WITHOUT_KEYS",
                f"Executor {self._executor!r} joins table {name!r}, which has no configured "
                "join keys; use ctx.table() and join it yourself.",
                {"executor": self._executor, "table": name},
            )
        return spec.apply(events, table, how=how, name=name, executor=self._executor)

    def _load(self, name: str) -> DataFrame:
        if name not in self._tables:
            raise ExecutorContractError(
                "UNDECLARED_TABLE",
                f"Executor {self._executor!r} asked for table {name!r}, which it does not "
                f"declare in @executor(tables=...) or the pipeline does not configure; "
                f"available: {sorted(self._tables)}",
                {"executor": self._executor, "table": name, "available": sorted(self._tables)},
            )
        if self._snapshots is not None:
            return self._snapshots.frame(name)
        if name not in self._loaded:
            loaded = self._tables[name]()
            spec = self._specs.get(name)
            self._loaded[name] = spec.prepare(loaded) if spec else loaded
        return self._loaded[name]

    def call_service(self, name: str, df: DataFrame) -> DataFrame:
        """Enrich ``df`` through the service declared as ``name`` in ``enrichments.services``.

        Raises:
            ExecutorContractError: ``UNDECLARED_SERVICE`` for an unknown name.
        """
        if name not in self._services:
            raise ExecutorContractError(
                "UNDECLARED_SERVICE",
                f"Executor {self._executor!r} asked for service {name!r}; available: "
                f"{sorted(self._services)}",
                {"executor": self._executor, "service": name, "available": sorted(self._services)},
            )
        return self._services[name](df)


def _unused() -> DataFrame:
    raise AssertionError("a snapshot-served context never calls its loaders")
