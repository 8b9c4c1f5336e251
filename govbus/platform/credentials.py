"""The local platform's credentials: random passwords in one JSON file only its owner can read.

``govbus dev up`` with ``GOVBUS_SECURITY=scram`` keeps them in ``<home>/dev/credentials.json`` (mode 0600),
a JSON object mapping each principal to its ``username`` and ``password``. They are created once, on the
first secured start, and kept across restarts (the broker's storage holds the administrator's SCRAM
credential from its first format). Never printed, logged or written anywhere else.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from govbus import identities
from govbus.exceptions import ConfigurationError, PlatformError

ADMIN = identities.ADMIN


def load_or_create(path: Path) -> dict[str, dict[str, str]]:
    """The credentials in ``path``, created (with the administrator's) if the file does not exist yet."""
    if path.exists():
        return load(path)
    credentials = {ADMIN: {"username": ADMIN, "password": secrets.token_urlsafe(24)}}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(credentials, file, indent=2)
    return credentials


def with_principals(path: Path, wanted: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The credentials in ``path`` with a random password added for each principal of ``wanted`` (key ->
    user name) it does not hold yet; the file is rewritten (still 0600) only when one was added."""
    with _locked(path):  # two writers at once (dev principals add, the demo) must not lose each other's entries
        found = load_or_create(path)
        missing = {key: user for key, user in wanted.items() if key not in found}
        if not missing:
            return found
        found |= {key: {"username": user, "password": secrets.token_urlsafe(24)} for key, user in missing.items()}
        descriptor, staged = tempfile.mkstemp(dir=path.parent, prefix=".credentials-")  # mode 0600
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(found, file, indent=2)
        os.replace(staged, path)
        return found


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``<path>.lock`` for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def load(path: Path) -> dict[str, dict[str, str]]:
    """The credentials in ``path``; :class:`PlatformError` if it is unreadable or others may read it."""
    try:
        return identities.load_credentials(path)
    except ConfigurationError as error:
        raise PlatformError(str(error)) from None
