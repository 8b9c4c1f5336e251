"""Node.js programs from npm, installed once into a cache outside the repo (as the Kafka jars are:
:mod:`govbus.platform.jars`).

    asyncapi = npm_program("@asyncapi/cli", "6.2.0", "asyncapi", settings.cache_dir)   # the program's path

1. ``<cache>/npm/<package>@<version>/`` holds one pinned version (``@scope/name`` written ``@scope+name``); a
   ``.complete`` marker says its install finished, and then the program is returned at once.
2. Otherwise, under a lock (another process may be installing the same version), ``npm install --prefix
   <that directory> --ignore-scripts --no-audit --no-fund <package>@<version>``. No install script runs: none of
   the programs used needs one, and some packages' scripts report installs to third parties.
3. A failed install leaves no marker, so the next call installs again; :class:`MissingToolError` when npm is
   missing, :class:`PlatformError` with the end of npm's output when the install fails.

Measured here (the @asyncapi/cli 6.2.0 tree, 1,268 packages, 440 MB, npm 11 with an empty npm cache): 84 s on
a quiet machine, up to 150 s while other work loads it.
"""

from __future__ import annotations

import fcntl
import logging
import subprocess
import time
from pathlib import Path

from govbus.exceptions import PlatformError
from govbus.platform.jars import require_tool

log = logging.getLogger(__name__)

INSTALL_TIMEOUT = 900.0
"""seconds one ``npm install`` may take before it counts as failed"""
_COMPLETE_MARKER = ".complete"


def package_dir(cache_dir: Path, package: str, version: str) -> Path:
    """Where ``package`` at ``version`` is installed: ``<cache>/npm/@scope+name@1.2.3``."""
    return cache_dir / "npm" / f"{package.replace('/', '+')}@{version}"


def npm_program(package: str, version: str, program: str, cache_dir: Path) -> Path:
    """The path of ``program`` from npm ``package`` at ``version``, installed first if it is not yet (see the
    module docstring)."""
    target = package_dir(cache_dir, package, version)
    binary = target / "node_modules" / ".bin" / program
    if (target / _COMPLETE_MARKER).exists():
        return binary
    npm = require_tool("npm", "install Node.js 20 or newer with npm (Debian: `apt-get install nodejs npm`)")
    target.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing the same version
        if not (target / _COMPLETE_MARKER).exists():
            _install(npm, target, f"{package}@{version}")
    if not binary.exists():
        raise PlatformError(f"npm installed {package}@{version} in {target}, but it has no program {program!r}: "
                            f"check the package's name and its `bin` entries")
    return binary


def _install(npm: str, target: Path, spec: str) -> None:
    log.info("installing from npm", extra={"package": spec, "into": str(target)})
    started = time.monotonic()
    argv = [npm, "install", "--prefix", str(target), "--ignore-scripts", "--no-audit", "--no-fund",
            "--loglevel=error", spec]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False,  # noqa: S603
                                timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise PlatformError(f"`npm install {spec}` took more than {INSTALL_TIMEOUT:.0f} s; check that the npm "
                            "registry is reachable (npm config get registry)") from None
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-20:]
        raise PlatformError(f"npm could not install {spec} (exit {result.returncode}); check that the npm registry "
                            "is reachable and the version exists. npm said:\n" + "\n".join(output))
    seconds = time.monotonic() - started
    (target / _COMPLETE_MARKER).write_text(f"{spec} installed in {seconds:.0f} s\n")
    log.info("installed from npm", extra={"package": spec, "seconds": round(seconds, 1)})
