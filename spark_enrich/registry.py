"""Where executors are found: the ``@executor`` decorator and the ``spark_enrich.executors``
entry-point group, through which other installed packages contribute executors."""

from __future__ import annotations

import importlib.metadata
import inspect
import threading

from spark_enrich.errors import RegistryError
from spark_enrich.executor import Executor

ENTRY_POINT_GROUP = "spark_enrich.executors"


class ExecutorRegistry:
    """A name -> executor class map; tests build their own, the engine uses the default one."""

    def __init__(self) -> None:
        self._executors: dict[str, type[Executor]] = {}
        self._entry_points_loaded = False
        # An entry point that failed to load: every later lookup raises it again, so that
        # `validate` and a run agree (a half-loaded registry would say UNKNOWN_EXECUTOR).
        self._load_error: RegistryError | None = None
        self._lock = threading.RLock()

    def register(self, cls: type[Executor]) -> None:
        """Add a declared executor class.

        Raises:
            RegistryError: ``DUPLICATE_EXECUTOR`` naming both definitions.
        """
        spec = cls.spec
        with self._lock:
            existing = self._executors.get(spec.name)
            if existing is not None and existing is not cls:
                if existing.spec.origin == spec.origin:
                    # One module imported twice (as script and as package): keep the first.
                    return
                raise RegistryError(
                    "DUPLICATE_EXECUTOR",
                    f"Executor name {spec.name!r} is declared twice: by {existing.spec.origin} "
                    f"and by {spec.origin}. Executor names must be unique; rename one.",
                    {"name": spec.name, "first": existing.spec.origin, "second": spec.origin},
                )
            self._executors[spec.name] = cls

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import every installed package that declares executors in the entry-point group.

        An entry point names either a module (importing it runs its ``@executor`` decorators)
        or an :class:`Executor` subclass (registered here).

        Raises:
            RegistryError: ``ENTRY_POINT_FAILED``, on this call and every later one.
        """
        with self._lock:
            if self._load_error is not None:
                raise self._load_error
            if self._entry_points_loaded:
                return
            self._entry_points_loaded = True
            for entry_point in importlib.metadata.entry_points(group=group):
                try:
                    loaded = entry_point.load()
                except Exception as exc:
                    error = RegistryError(
                        "ENTRY_POINT_FAILED",
                        f"Loading executor entry point {entry_point.name!r} = "
                        f"{entry_point.value!r} (group {group}) failed: {exc}",
                        {"entry_point": entry_point.value},
                    )
                    self._load_error = error
                    raise error from exc
                if inspect.isclass(loaded) and issubclass(loaded, Executor):
                    self.register(loaded)

    def get(self, name: str) -> type[Executor]:
        """The executor class registered as ``name``.

        Raises:
            RegistryError: ``UNKNOWN_EXECUTOR`` listing the known names; ``ENTRY_POINT_FAILED``
                when an installed executor package cannot be imported.
        """
        self.load_entry_points()
        try:
            return self._executors[name]
        except KeyError:
            raise RegistryError(
                "UNKNOWN_EXECUTOR",
                f"No executor named {name!r}; known: {sorted(self._executors)}",
                {"name": name, "known": sorted(self._executors)},
            ) from None

    def __contains__(self, name: object) -> bool:
        self.load_entry_points()
        return name in self._executors

    def names(self) -> list[str]:
        """Sorted names of all registered executors."""
        self.load_entry_points()
        return sorted(self._executors)


_DEFAULT = ExecutorRegistry()


def default_registry() -> ExecutorRegistry:
    """The process-wide registry used by the decorator and the CLI."""
    return _DEFAULT
