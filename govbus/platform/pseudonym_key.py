"""The platform's pseudonym key in a file only its owner can read, made once and kept.

``govbus dev up`` keeps it in ``<home>/dev/pseudonym.key`` and hands it to what it starts
(``GOVBUS_PSEUDONYM_KEY``, :meth:`govbus.platform.dev.PlatformState.env`); docker-compose.yml's
``credentials`` service makes it beside the credentials file (``govbus principals create
--pseudonym-key``) and the delivery connectors get it from there (``govbus principals exec
--pseudonym-key``). It is kept across restarts because a new key changes every pseudonym a
subscriber holds (:mod:`govbus.sharing.pseudonyms`). Never printed or logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from govbus.exceptions import ConfigurationError
from govbus.sharing.pseudonyms import MIN_KEY_LENGTH, PSEUDONYM_KEY_VARIABLE

FILE_NAME = "pseudonym.key"
KEY_BYTES = 32


def load_or_create(path: Path) -> str:
    """The key in ``path``, made (64 random hex digits, mode 0600) if the file does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made meanwhile by another process: use that one
            return load(path)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(secrets.token_hex(KEY_BYTES) + "\n")
    return load(path)


def load(path: Path) -> str:
    """The key in ``path``; :class:`ConfigurationError` if it is unreadable, others may read it, or it is too short."""
    try:
        mode = path.stat().st_mode
        key = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigurationError(f"cannot read the pseudonym key file {path}: {error.strerror}") from None
    if mode & 0o077:
        raise ConfigurationError(f"{path} may be read by other users than its owner: `chmod 600 {path}` (and consider "
                                 "the key known: a new one changes every pseudonym subscribers hold)")
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigurationError(f"{path} holds no pseudonym key of at least {MIN_KEY_LENGTH} characters: delete it "
                                 f"to have a new one made (or write one: `openssl rand -hex 32`)")
    return key


def env(path: Path) -> dict[str, str]:
    """``GOVBUS_PSEUDONYM_KEY`` from ``path``, for a process that is to deliver to subscribers."""
    return {PSEUDONYM_KEY_VARIABLE: load(path)}
