"""Debian packages the platform's tests and tools need, installed with apt on demand (root only).

    promtool = ensure_tool("promtool", package="prometheus")      # the program's path
    install(["postgresql"])                                        # programs outside PATH: look yourself

:func:`ensure_tool` returns a program found on ``PATH`` at once. Otherwise, when we are root on a system
with ``apt-get``, it installs the package that brings it:

1. ``apt-get update``, once per process (a failed update is logged: the lists already there may do);
2. ``apt-get install -y --no-install-recommends PACKAGE...``;
3. either step is retried while another apt or dpkg process holds apt's lock, for up to ten minutes.

Packages that ship a service (``prometheus``, ``prometheus-alertmanager``) would start it from their
maintainer scripts. While we install, a ``policy-rc.d`` that refuses every start is in place (written for
the install when the system has none, removed afterwards; ``invoke-rc.d`` and ``deb-systemd-invoke``
both obey it), so nothing is left running that the caller did not start itself.

Anything that cannot work (not root, no apt, a package apt cannot install, a program still missing
afterwards) raises :class:`~govbus.exceptions.MissingToolError` saying what to install by hand.
Measured here (Debian 12, a warm mirror): ``prometheus`` and ``prometheus-alertmanager`` together in
about 12 s, ``apt-get update`` included.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from govbus.exceptions import MissingToolError

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 600.0
"""how long to keep retrying while another process holds apt's lock"""
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
_DENY_EVERY_START = "#!/bin/sh\n# written by govbus while it installs packages: start no service\nexit 101\n"
_LOCK_RETRY_SECONDS = 5.0
_lock = threading.Lock()
_updated = False


def ensure_tool(tool: str, package: str) -> Path:
    """The path of program ``tool``: from ``PATH``, else after installing Debian's ``package`` (see the
    module docstring); :class:`MissingToolError` when neither works."""
    found = shutil.which(tool)
    if found:
        return Path(found)
    install([package], reason=f"{tool} is not installed")
    found = shutil.which(tool)
    if found is None:
        raise MissingToolError(f"apt-get installed {package}, but {tool} is still not on PATH "
                               f"(PATH={os.environ.get('PATH', '')}): install {tool} by hand")
    return Path(found)


def install(packages: Sequence[str], reason: str = "a program is missing") -> None:
    """``apt-get install`` ``packages`` (``apt-get update`` first, once per process), no service started."""
    wanted = " ".join(packages)
    if not can_install():
        raise MissingToolError(f"{reason}: install Debian's {wanted} package (`sudo apt-get install "
                               f"--no-install-recommends {wanted}`), or run as root where apt-get is available")
    global _updated
    with _lock, services_held():
        if not _updated:
            try:
                apt(["apt-get", "update"])
            except MissingToolError as failed:
                log.warning("apt-get update failed; trying the package lists already here",
                            extra={"error": str(failed)})
            _updated = True
        log.info("installing Debian packages", extra={"packages": wanted})
        started = time.monotonic()
        apt(["apt-get", "install", "-y", "--no-install-recommends", *packages])
        log.info("Debian packages installed", extra={"packages": wanted,
                                                     "seconds": round(time.monotonic() - started, 1)})


def can_install() -> bool:
    """True when :func:`install` may work here: we are root and ``apt-get`` exists."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt(argv: Sequence[str], lock_wait: float = LOCK_WAIT_SECONDS) -> None:
    """Run an apt command non-interactively, retrying while another process holds apt's lock (up to
    ``lock_wait`` seconds); :class:`MissingToolError` with the end of its output when it fails otherwise."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    deadline = time.monotonic() + lock_wait
    while True:
        done = subprocess.run(list(argv), capture_output=True, text=True, env=env, check=False)  # noqa: S603
        if done.returncode == 0:
            return
        locked = "lock" in (done.stderr + done.stdout).lower()
        if not locked or time.monotonic() > deadline:
            raise MissingToolError(f"`{' '.join(argv)}` failed ({done.returncode}): "
                                   f"{(done.stderr or done.stdout).strip()[-500:]}")
        log.info("apt is locked by another process; waiting", extra={"command": " ".join(argv)})
        time.sleep(_LOCK_RETRY_SECONDS)


@contextmanager
def services_held(policy: Path = POLICY_RC_D) -> Iterator[None]:
    """While inside, maintainer scripts start no service: a ``policy-rc.d`` answering 101 ("action
    forbidden") is in place, unless the system has one of its own (left as it is)."""
    if policy.exists():
        yield
        return
    policy.write_text(_DENY_EVERY_START, encoding="ascii")
    policy.chmod(0o755)
    try:
        yield
    finally:
        policy.unlink(missing_ok=True)
