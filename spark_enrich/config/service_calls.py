"""``UNDECLARED_SERVICE_CALL``: an executor whose code calls an enrichment service it does not
declare in ``@executor(services=...)``.

The engine builds an executor's context with the services it declares only, so such a call
fails at run time (``UNDECLARED_SERVICE``), after Spark started and possibly mid-stream.
``validate`` reads the executor class's source instead (its own and its base classes', not the
engine's :class:`~spark_enrich.executor.Executor`) and finds each ``<ctx>.call_service("name",
...)`` whose name is a literal: a name computed at run time cannot be checked before it runs.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from spark_enrich.config.document import Document
from spark_enrich.config.models import ExecutorConfig
from spark_enrich.config.problems import Problem
from spark_enrich.errors import RegistryError
from spark_enrich.executor import Executor
from spark_enrich.registry import ExecutorRegistry

__all__ = ["ServiceCall", "service_calls", "undeclared_service_calls"]


@dataclass(frozen=True)
class ServiceCall:
    """One ``call_service`` with a literal service name in an executor's source."""

    service: str
    file: str
    line: int


def _literal_name(call: ast.Call) -> str | None:
    arg = call.args[0] if call.args else None
    if arg is None:
        arg = next((k.value for k in call.keywords if k.arg == "name"), None)
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return None


def _calls_in(cls: type) -> Iterator[ServiceCall]:
    try:
        lines, first = inspect.getsourcelines(cls)
        file = inspect.getsourcefile(cls) or "<unknown>"
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return  # no source to read (built at run time, a compiled module): nothing to check
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "call_service"
        ):
            name = _literal_name(node)
            if name is not None:
                yield ServiceCall(name, Path(file).name, first + node.lineno - 1)


def service_calls(cls: type[Executor]) -> tuple[ServiceCall, ...]:
    """The ``call_service`` calls with a literal name in ``cls`` and its own base classes."""
    found: list[ServiceCall] = []
    for klass in cls.__mro__:
        if klass in (Executor, object) or klass.__module__ == "builtins":
            continue
        found.extend(_calls_in(klass))
    return tuple(found)


def undeclared_service_calls(
    configs: Sequence[ExecutorConfig] | None, registry: ExecutorRegistry, doc: Document
) -> list[Problem]:
    """One ``UNDECLARED_SERVICE_CALL`` problem per service an executor of ``configs`` calls
    but does not declare, located at the executor's name in the pipeline."""
    if configs is None:
        return []
    problems: list[Problem] = []
    try:
        known = set(registry.names())
    except RegistryError:
        return []  # reported as REGISTRY_ERROR by the executor rule
    for i, config in enumerate(configs):
        if config.name not in known:
            continue
        cls = registry.get(config.name)
        declared = cls.spec.services
        reported: set[str] = set()
        for call in service_calls(cls):
            if call.service in declared or call.service in reported:
                continue
            reported.add(call.service)
            problems.append(
                doc.problem(
                    "UNDECLARED_SERVICE_CALL",
                    f"executor {config.name!r} calls service {call.service!r} "
                    f"({call.file}:{call.line}), which its @executor(services=...) does not "
                    "declare: the call would fail at run time",
                    ("executors", i, "name"),
                    call.service,
                    "declared: " + (", ".join(declared) or "none"),
                    f'@executor(name="{config.name}", ..., services=["{call.service}"])',
                )
            )
    return problems
