"""The Kafka broker's jars: pinned in ``kafka-<version>.lock`` beside this module (Maven
coordinates and SHA-256 sums), downloaded once from Maven Central into the user's cache
directory and verified; nothing binary is ever committed."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from spark_enrich.errors import BrokerError

KAFKA_VERSION = "4.1.1"
MAVEN_CENTRAL = os.environ.get("SPARK_ENRICH_MAVEN_REPO", "https://repo1.maven.org/maven2")
_LOCK_FILE = Path(__file__).with_name(f"kafka-{KAFKA_VERSION}.lock")


def cache_dir() -> Path:
    """Where downloaded broker jars live (``$SPARK_ENRICH_CACHE`` or the user cache directory)."""
    override = os.environ.get("SPARK_ENRICH_CACHE")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("spark-enrich"))


@dataclass(frozen=True)
class Artifact:
    """One pinned jar of the broker's runtime class path."""

    group: str
    name: str
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.name}-{self.version}.jar"

    def url(self, repository: str = MAVEN_CENTRAL) -> str:
        path = self.group.replace(".", "/")
        return f"{repository}/{path}/{self.name}/{self.version}/{self.file_name}"


def pinned_artifacts(lock_file: Path = _LOCK_FILE) -> list[Artifact]:
    """Read ``group:artifact:version sha256`` lines of the lock file."""
    artifacts = []
    for line in lock_file.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        coordinate, digest = line.split()
        group, name, version = coordinate.split(":")
        artifacts.append(Artifact(group, name, version, digest))
    return artifacts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_broker_jars(
    target: Path | None = None, *, repository: str = MAVEN_CENTRAL, timeout: float = 60.0
) -> list[Path]:
    """Download the broker's jars once, verify their checksums, and return the class path.

    Jars already in the cache with the right checksum are not downloaded again; a cached jar
    with a wrong checksum is replaced. Downloads go to a temporary name and are renamed only
    after verification, so an interrupted download never leaves a bad jar behind.

    Raises:
        BrokerError: ``DOWNLOAD_FAILED`` or ``CHECKSUM_MISMATCH``, naming the jar and the URL.
    """
    folder = target or cache_dir() / "kafka" / KAFKA_VERSION
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for artifact in pinned_artifacts():
        path = folder / artifact.file_name
        if not (path.is_file() and _sha256(path) == artifact.sha256):
            _download(artifact, path, repository, timeout)
        paths.append(path)
    return paths


def _download(artifact: Artifact, path: Path, repository: str, timeout: float) -> None:
    url = artifact.url(repository)
    partial = path.with_name(path.name + f".{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            while block := response.read(1 << 20):
                out.write(block)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise BrokerError(
            "DOWNLOAD_FAILED",
            f"Could not download the Kafka broker jar {artifact.file_name} from {url}: {exc}. "
            "Check that this machine reaches Maven Central (or set SPARK_ENRICH_MAVEN_REPO to a "
            f"mirror), or copy the jars into {path.parent}.",
            {"url": url, "artifact": artifact.file_name, "cause": str(exc)},
        ) from exc
    found = _sha256(partial)
    if found != artifact.sha256:
        partial.unlink(missing_ok=True)
        raise BrokerError(
            "CHECKSUM_MISMATCH",
            f"{url} has SHA-256 {found}, expected {artifact.sha256}; refusing to use it. "
            "A proxy or mirror may have altered it.",
            {"url": url, "found": found, "expected": artifact.sha256},
        )
    partial.replace(path)
