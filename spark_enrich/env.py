"""Checks of the machine that must pass before a JVM is started."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from spark_enrich.errors import EnvironmentProblem

MIN_JAVA = 17
# Spark 4.2 supports Java 17 and 21; newer releases are accepted but not tested.
_VERSION_RE = re.compile(r'version "(?P<v>[^"]+)"')


@dataclass(frozen=True)
class JavaInfo:
    """The Java runtime that Spark and the Kafka broker will use."""

    executable: Path
    major: int
    version: str


def find_java() -> Path:
    """Return the ``java`` executable that Spark would launch (``JAVA_HOME`` first, then PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
        raise EnvironmentProblem(
            "JAVA_NOT_FOUND",
            f"JAVA_HOME is set to {java_home!r} but {candidate} is not an executable. "
            f"Point JAVA_HOME at a Java {MIN_JAVA}+ installation or unset it.",
            {"java_home": java_home},
        )
    found = shutil.which("java")
    if not found:
        raise EnvironmentProblem(
            "JAVA_NOT_FOUND",
            f"No Java runtime found: JAVA_HOME is unset and 'java' is not on PATH. "
            f"spark-enrich needs Java {MIN_JAVA} or newer "
            f"(Debian/Ubuntu: apt-get install openjdk-{MIN_JAVA}-jre-headless).",
            {},
        )
    return Path(found)


def parse_java_major(version: str) -> int:
    """``"17.0.15"`` -> 17, ``"1.8.0_392"`` -> 8."""
    parts = re.split(r"[._+-]", version)
    major = int(parts[0])
    if major == 1 and len(parts) > 1:
        major = int(parts[1])
    return major


def check_java() -> JavaInfo:
    """Verify that Java ``MIN_JAVA`` or newer is available.

    Returns:
        The Java runtime found.

    Raises:
        EnvironmentProblem: ``JAVA_NOT_FOUND`` or ``JAVA_TOO_OLD``, with how to fix it.
    """
    java = find_java()
    try:
        proc = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise EnvironmentProblem(
            "JAVA_NOT_FOUND", f"Could not run {java} -version: {exc}", {"java": str(java)}
        ) from exc
    match = _VERSION_RE.search(proc.stderr + proc.stdout)
    if not match:
        raise EnvironmentProblem(
            "JAVA_NOT_FOUND",
            f"{java} -version did not report a version (output: {proc.stderr.strip()[:200]!r}).",
            {"java": str(java)},
        )
    version = match.group("v")
    major = parse_java_major(version)
    if major < MIN_JAVA:
        raise EnvironmentProblem(
            "JAVA_TOO_OLD",
            f"{java} is Java {version}; spark-enrich (Spark 4, Kafka 4) needs Java {MIN_JAVA} "
            f"or newer. Install Java {MIN_JAVA} and set JAVA_HOME to it.",
            {"java": str(java), "found": version, "required": MIN_JAVA},
        )
    return JavaInfo(executable=java, major=major, version=version)
