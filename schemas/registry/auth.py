"""Who is asking: HTTP Basic credentials checked against the platform's credentials file.

The registry knows the same principals as the broker because it reads the same file
(:func:`govbus.identities.load_credentials`). The platform adds principals while the registry
runs (a new department, a new subscription's connector), so the file is re-read when it
changes; one ``stat`` per request is the whole cost while it does not.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
from pathlib import Path

from govbus.exceptions import ConfigurationError
from govbus.identities import key_of_user, load_credentials
from schemas.registry.errors import Unauthenticated

log = logging.getLogger(__name__)

CREDENTIALS_HINT = "GOVBUS_REGISTRY__USERNAME and GOVBUS_REGISTRY__PASSWORD (Confluent clients: basic.auth.user.info)"
_NOT_A_PASSWORD = b"\0" * 32  # compared against for unknown users, so they take as long as known ones

_Signature = tuple[int, int, int]


def basic_credentials(header: str | None) -> tuple[str, str]:
    """The user name and password of an ``Authorization: Basic ...`` header; :class:`Unauthenticated`
    (never echoing the header) if it is missing or is not HTTP Basic."""
    if not header:
        raise Unauthenticated("This schema registry needs a user name and password (HTTP Basic): set "
                              f"{CREDENTIALS_HINT}.")
    scheme, _, encoded = header.strip().partition(" ")
    try:
        if scheme.lower() != "basic":
            raise ValueError(scheme)
        user, colon, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        if not colon or not user:
            raise ValueError("no user:password")
    except (ValueError, binascii.Error):
        raise Unauthenticated(f"The Authorization header is not HTTP Basic (Basic base64(<user>:<password>)): set "
                              f"{CREDENTIALS_HINT}.") from None
    return user, password


class CredentialStore:
    """The principals' user names and passwords, as the credentials file says now."""

    def __init__(self, path: Path) -> None:
        """Read ``path``; :class:`ConfigurationError` if it cannot be read (the registry does not start)."""
        self.path = path
        self._signature = self._stat()
        self._passwords = self._read()

    def principal(self, header: str | None) -> str:
        """The key of the principal ``header`` authenticates (``department:taxation``), or :class:`Unauthenticated`."""
        user, password = basic_credentials(header)
        self._refresh()
        expected = self._passwords.get(user)
        matches = hmac.compare_digest(expected or _NOT_A_PASSWORD, password.encode("utf-8"))
        if expected is None or not matches:
            raise Unauthenticated("The user name or password is wrong, or the registry does not know the user: check "
                                  f"{CREDENTIALS_HINT} against the platform's credentials file.")
        return key_of_user(user)

    def _refresh(self) -> None:
        """Re-read the file if it changed; keep the last good principals if it cannot be read now."""
        signature = self._stat()
        if signature == self._signature:
            return
        self._signature = signature
        try:
            self._passwords = self._read()
        except ConfigurationError as error:
            log.error("cannot re-read the registry's credentials file; the principals read before still apply",
                      extra={"error": str(error)})
            return
        log.info("re-read the registry's credentials file", extra={"path": str(self.path),
                                                                     "principals": len(self._passwords)})

    def _stat(self) -> _Signature | None:
        """What changes when the file is rewritten or replaced; ``None`` while it cannot be found."""
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return found.st_mtime_ns, found.st_size, found.st_ino

    def _read(self) -> dict[str, bytes]:
        """User name -> password; entries without a password are left out (they could never be checked)."""
        passwords: dict[str, bytes] = {}
        for key, entry in load_credentials(self.path).items():
            if not entry["password"]:
                log.warning("a principal in the credentials file has no password; it cannot use the registry",
                            extra={"principal": key})
                continue
            passwords[entry["username"]] = entry["password"].encode("utf-8")
        return passwords
