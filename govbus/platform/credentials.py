"""The local platform's credentials: random passwords in one JSON file only its owner can read.

``govbus dev up`` with ``GOVBUS_SECURITY=scram`` keeps them in ``<home>/dev/credentials.json`` (mode 0600),
a JSON object mapping each principal to its ``username`` and ``password``. They are created once, on the
first secured start, and kept across restarts (the broker's storage holds the administrator's SCRAM
credential from its first format). Never printed, logged or written anywhere else.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
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
    found = load_or_create(path)
    missing = {key: user for key, user in wanted.items() if key not in found}
    if not missing:
        return found
    found |= {key: {"username": user, "password": secrets.token_urlsafe(24)} for key, user in missing.items()}
    staged = path.with_suffix(".tmp")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(found, file, indent=2)
    staged.replace(path)
    return found


def load(path: Path) -> dict[str, dict[str, str]]:
    """The credentials in ``path``; :class:`PlatformError` if it is unreadable or others may read it."""
    try:
        return identities.load_credentials(path)
    except ConfigurationError as error:
        raise PlatformError(str(error)) from None
