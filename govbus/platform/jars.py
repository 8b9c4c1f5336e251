"""Fetch the Apache Kafka broker's jars from Maven Central once, into a cache outside the repo."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from govbus.exceptions import MissingToolError, PlatformError

log = logging.getLogger(__name__)

_COMPLETE_MARKER = ".complete"


def require_tool(name: str, install_hint: str) -> str:
    """Return the path of ``name`` on PATH or raise :class:`MissingToolError` saying what to install."""
    path = shutil.which(name)
    if path is None:
        raise MissingToolError(f"`{name}` was not found on PATH: {install_hint}")
    return path


def require_java() -> str:
    return require_tool("java", "install Java 17 or newer (Debian: `apt-get install openjdk-17-jre-headless`)")


def kafka_libs(cache_dir: Path, kafka_version: str) -> Path:
    """Return the directory of the broker's jars, fetching them with Maven the first time."""
    target = cache_dir / f"kafka-{kafka_version}"
    libs = target / "libs"
    if _complete(target, kafka_version):
        return libs
    mvn = require_tool("mvn", "install Maven (Debian: `apt-get install maven`)")
    require_java()
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be fetching the same version
        if not _complete(target, kafka_version):
            _fetch(mvn, target, libs, kafka_version)
    return libs


def _pom() -> bytes:
    return resources.files("govbus.platform").joinpath("pom.xml").read_bytes()


def _stamp(kafka_version: str) -> str:
    """What a complete fetch records: the version and the pom it was fetched with (a changed pom fetches again)."""
    return f"{kafka_version} {hashlib.sha256(_pom()).hexdigest()[:16]}"


def _complete(target: Path, kafka_version: str) -> bool:
    marker = target / _COMPLETE_MARKER
    return marker.exists() and marker.read_text().strip() == _stamp(kafka_version)


def _fetch(mvn: str, target: Path, libs: Path, kafka_version: str) -> None:
    pom = target / "pom.xml"
    pom.write_bytes(_pom())
    if libs.exists():
        shutil.rmtree(libs)
    log.info("fetching Kafka jars from Maven Central", extra={"kafka_version": kafka_version, "into": str(libs)})
    argv = [
        mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={libs}", "-DincludeScope=runtime", f"-Dkafka.version={kafka_version}",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0 or not any(libs.glob("kafka_2.13-*.jar")):
        output = (result.stdout + result.stderr).strip().splitlines()[-20:]
        raise PlatformError(
            f"Maven could not fetch Apache Kafka {kafka_version} (exit {result.returncode}); check that "
            "Maven Central is reachable and the version exists. Maven said:\n" + "\n".join(output)
        )
    (target / _COMPLETE_MARKER).write_text(_stamp(kafka_version))
