"""Shipping the Python side to a cluster: one archive for ``spark-submit --archives``.

Spark's Python workers import the engine (a service call, a pandas step) and the executor
packages; a cluster node's Python has neither. :func:`pack_environment` writes what they need
as a virtual environment in a ``.tar.gz``: the engine, every installed executor package (the
``spark_enrich.executors`` entry-point group) and their dependencies, copied from this
environment's installed files, so the workers run exactly the versions the driver runs. Not
pyspark and py4j: the cluster's Spark puts its own on the workers' path, and a second copy of
another version would not match its JVM.

The archive is what ``venv`` creates, with ``bin/python`` a symbolic link to an interpreter
installed on the nodes (by default the one this environment was made from), like venv-pack's
archives: the nodes need that Python, same minor version, at that path, and the same platform
(compiled wheels such as pyarrow's are copied as they are). Unpacked by Spark as
``./environment`` (``--archives env.tar.gz#environment``), it is used with
``spark.pyspark.python=./environment/bin/python``.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import sys
import tarfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path, PurePosixPath

from spark_enrich.errors import EnvironmentProblem
from spark_enrich.registry import ENTRY_POINT_GROUP

__all__ = ["PROVIDED_BY_SPARK", "PackedEnvironment", "pack_environment", "submit_commands"]

ENGINE = "spark-enrich"
# On the workers' path from the cluster's own Spark (SPARK_HOME/python/lib): never shipped.
PROVIDED_BY_SPARK = frozenset({"pyspark", "py4j"})
ALIAS = "environment"
WORKER_PYTHON = f"./{ALIAS}/bin/python"
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class PackedEnvironment:
    """An archive written by :func:`pack_environment`."""

    path: Path
    """The ``.tar.gz`` written."""
    distributions: tuple[str, ...]
    """``name==version`` of every distribution in it, sorted."""
    python: str
    """The interpreter ``bin/python`` links to on the nodes."""
    files: int
    """Files in the archive."""


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed() -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:  # the first on sys.path wins, as for imports
            found.setdefault(_normalise(name), dist)
    return found


def _required(dist: metadata.Distribution) -> Iterator[str]:
    for requirement in dist.requires or ():
        name, _, marker = requirement.partition(";")
        # Optional extras are not installed for the engine's runs; other markers (a Python
        # version) are settled by whether the package is installed here.
        if "extra" in marker:
            continue
        match = _NAME.match(name)
        if match:
            yield _normalise(match.group(1))


def worker_distributions(
    exclude: frozenset[str] = PROVIDED_BY_SPARK,
) -> list[metadata.Distribution]:
    """The engine, the installed executor packages and everything they require, as installed
    here, without ``exclude``; sorted by name.

    Raises:
        EnvironmentProblem: ``ENGINE_NOT_INSTALLED`` when spark-enrich has no installed
            metadata (a source tree on ``sys.path`` only).
    """
    installed = _installed()
    if ENGINE not in installed:
        raise EnvironmentProblem(
            "ENGINE_NOT_INSTALLED",
            "spark-enrich is not installed in this environment (only on sys.path): install it "
            "(pip install, or pip install -e for a checkout) and package again",
            {},
        )
    todo = [ENGINE]
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(entry_point, "dist", None)
        if dist is not None and dist.metadata["Name"]:
            todo.append(_normalise(dist.metadata["Name"]))
    chosen: dict[str, metadata.Distribution] = {}
    while todo:
        name = todo.pop()
        if name in chosen or name in exclude or name not in installed:
            continue
        chosen[name] = installed[name]
        todo.extend(_required(installed[name]))
    return [chosen[name] for name in sorted(chosen)]


def _editable(dist: metadata.Distribution) -> bool:
    text = dist.read_text("direct_url.json")
    try:
        return bool(text and json.loads(text).get("dir_info", {}).get("editable"))
    except (ValueError, AttributeError):
        return False


def _skipped(relative: PurePosixPath) -> bool:
    # Console scripts and data files live outside site-packages ('..'); bytecode is rebuilt.
    return ".." in relative.parts or "__pycache__" in relative.parts or relative.suffix == ".pyc"


def _tree(root: Path, arc_root: PurePosixPath) -> Iterator[tuple[Path, PurePosixPath]]:
    if root.is_file():
        yield root, arc_root
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for file in sorted(files):
            path = Path(folder, file)
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if relative.suffix != ".pyc":
                yield path, arc_root / relative


def _files(dist: metadata.Distribution) -> Iterator[tuple[Path, PurePosixPath]]:
    """(installed file, path relative to site-packages) of what ``dist`` puts on the path."""
    name = dist.metadata["Name"]
    listed = dist.files
    if listed is None:
        raise EnvironmentProblem(
            "PACKAGE_FILES_UNKNOWN",
            f"{name} was installed without a record of its files (RECORD): reinstall it with "
            "pip and package again",
            {"distribution": name},
        )
    editable = _editable(dist)
    for file in listed:
        relative = PurePosixPath(file.as_posix())
        if _skipped(relative) or (editable and not relative.parts[0].endswith(".dist-info")):
            continue  # an editable install's own files point at its checkout
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            yield path, relative
    if editable:
        # An editable install's modules are in its checkout: ship their current source.
        for top in (dist.read_text("top_level.txt") or "").split():
            spec = find_spec(top)
            if spec is None or not (spec.submodule_search_locations or spec.origin):
                raise EnvironmentProblem(
                    "PACKAGE_SOURCE_NOT_FOUND",
                    f"cannot find the source of {top!r}, installed in editable mode by {name}",
                    {"distribution": name, "module": top},
                )
            if spec.submodule_search_locations:
                root = Path(next(iter(spec.submodule_search_locations)))
                yield from _tree(root, PurePosixPath(top))
            else:
                origin = Path(str(spec.origin))
                yield origin, PurePosixPath(origin.name)


def _base_python() -> str:
    return str(getattr(sys, "_base_executable", None) or sys.executable)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
    info.mtime = int(time.time())
    tar.addfile(info)


def _owned_by_nobody(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def pack_environment(output: Path, *, python: str | None = None) -> PackedEnvironment:
    """Write the workers' virtual environment to ``output`` (a ``.tar.gz``).

    Args:
        output: the archive to write (replaced atomically when it exists).
        python: the interpreter on the cluster's nodes that ``bin/python`` links to, of this
            Python's minor version (default: the one this environment was made from).

    Returns:
        What was packed.

    Raises:
        EnvironmentProblem: the engine is not installed, or an installed distribution's files
            cannot be listed or found.

    Example:
        >>> pack_environment(Path("env.tar.gz"))  # doctest: +SKIP
    """
    target = python or _base_python()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    site = PurePosixPath("lib", f"python{version}", "site-packages")
    dists = worker_distributions()
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    seen: set[PurePosixPath] = set()
    config = (
        f"home = {PurePosixPath(target).parent}\ninclude-system-site-packages = false\n"
        f"version = {'.'.join(map(str, sys.version_info[:3]))}\n"
    )
    # gzip level 6: nearly level 9's size in half its time (pyarrow and pandas are large).
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        _add_bytes(tar, "pyvenv.cfg", config.encode())
        _add_link(tar, "bin/python", target)
        _add_link(tar, "bin/python3", "python")
        _add_link(tar, f"bin/python{version}", "python")
        for dist in dists:
            for path, relative in _files(dist):
                if relative not in seen:  # namespace packages share folders, never files
                    seen.add(relative)
                    tar.add(path, str(site / relative), recursive=False, filter=_owned_by_nobody)
    partial.replace(output)
    return PackedEnvironment(
        path=output,
        distributions=tuple(f"{d.metadata['Name']}=={d.version}" for d in dists),
        python=target,
        files=len(seen),
    )


def submit_commands(
    archive: Path,
    *,
    jars: Sequence[Path],
    log4j: Path,
    main: str,
    driver_python: str,
    pipeline: str,
    args: str,
) -> dict[str, str]:
    """The ``spark-submit`` command lines that run ``spark-enrich run`` with the packed
    ``archive``, for a standalone master (client mode), YARN and Kubernetes (cluster mode);
    upper-case words are the cluster's (its host, image, upload folder).

    Args:
        archive: the packed environment.
        jars: the Delta and Kafka jars and their dependencies, as files
            (:func:`spark_enrich.jars.resolve_jars`): with ``--jars`` instead of
            ``--packages``, spark-submit starts without Ivy's resolution report.
        log4j: the engine's log4j2 configuration, for a client-mode driver (it runs here):
            warnings and errors only, as the CLI's local sessions.
        main: the installed engine's ``__main__.py`` (spark-submit's primary resource).
        driver_python: the Python of a client-mode driver (this one: the archive is unpacked
            for the executors only).
        pipeline: the pipeline file; in cluster mode it is shipped with ``--files`` and read
            from the driver's working folder.
        args: what follows the pipeline, such as ``--mode batch``.
    """
    q = shlex.quote
    common = [
        f"--archives {q(f'{archive}#{ALIAS}')}",
        f"--conf spark.pyspark.python={WORKER_PYTHON}",
        f"--jars {q(','.join(str(j) for j in jars))}",
        "--conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
        "--conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "--conf spark.python.sql.dataFrameDebugging.enabled=false",
    ]
    # Without a log4j configuration Spark logs at INFO under spark-submit (thousands of lines a
    # run). A driver here reads the engine's file from its first line; a driver on the cluster
    # is set to WARN once its SparkContext starts. `--log-level INFO run ...` (or -v) shows more.
    client = [
        f"--driver-java-options {q(f'-Dlog4j.configurationFile={log4j}')}",
        *common,
        f"{q(main)} run {q(pipeline)} {args}",
    ]
    shipped = [
        "--conf spark.log.level=WARN",
        *common,
        f"--files {q(pipeline)}",
        f"{q(main)} run {q(Path(pipeline).name)} {args}",
    ]
    lines = {
        "standalone": [
            "spark-submit --master spark://MASTER_HOST:7077",
            f"--conf spark.pyspark.driver.python={q(driver_python)}",
            *client,
        ],
        "yarn": ["spark-submit --master yarn --deploy-mode cluster", *shipped],
        "kubernetes": [
            "spark-submit --master k8s://https://API_SERVER_HOST:6443 --deploy-mode cluster",
            "--conf spark.kubernetes.container.image=SPARK_PYTHON_IMAGE",
            "--conf spark.kubernetes.file.upload.path=s3a://BUCKET/spark-uploads",
            *shipped,
        ],
    }
    return {mode: " \\\n  ".join(words) for mode, words in lines.items()}
