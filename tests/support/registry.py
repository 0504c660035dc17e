"""One way for a test to hold executors: an isolated registry, which installed packages'
entry points never reach. Importing it does not import pyspark."""

from __future__ import annotations

from collections.abc import Callable

from spark_enrich.executor import Executor
from spark_enrich.registry import ExecutorRegistry

Declaration = Callable[[ExecutorRegistry], object] | type[Executor]
"""A function declaring executors in the registry it is given, or an executor class already
declared with ``@executor``."""


class IsolatedRegistry(ExecutorRegistry):
    """Holds only what a test declares: installed entry points stay out."""

    def load_entry_points(self, group: str = "") -> None:
        """No installed executor packages here."""


def isolated_registry(*declarations: Declaration) -> IsolatedRegistry:
    """A registry holding only ``declarations``, in order.

    Example:
        >>> registry = isolated_registry(declare_test_executors, MyExecutor)
        >>> @executor(name="extra", version="1", event_types=["x"], registry=registry)
        ... class Extra(Executor): ...
    """
    registry = IsolatedRegistry()
    for declaration in declarations:
        if isinstance(declaration, type):
            registry.register(declaration)
        else:
            declaration(registry)
    return registry
