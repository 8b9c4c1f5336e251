"""API keys per department, stored as SHA-256 hashes (keys are 256-bit random tokens).

The keys file is JSON: ``{"keys": [{"department": "taxation", "label": "...", "sha256": "..."}]}``.
A key is shown once, when it is created (``govbus gateway add-key``); only its hash is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from govbus.exceptions import ConfigurationError

KEY_PREFIX = "gbk_"


@dataclass(frozen=True)
class StoredKey:
    department: str
    label: str
    sha256: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """Finds the department an API key belongs to, comparing hashes in constant time."""

    def __init__(self, keys: list[StoredKey]) -> None:
        self._keys = keys

    @classmethod
    def load(cls, path: Path) -> KeyStore:
        if not path.exists():
            raise ConfigurationError(f"API keys file {path} does not exist; create a key with "
                                     f"`govbus gateway add-key DEPARTMENT --keys-file {path}`")
        try:
            entries = json.loads(path.read_text())["keys"]
            return cls([StoredKey(**entry) for entry in entries])
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigurationError(f"API keys file {path} is not valid ({error!r}); expected "
                                     '{"keys": [{"department": ..., "label": ..., "sha256": ...}]}') from error

    def department_of(self, key: str) -> str | None:
        digest = hash_key(key)
        found = None
        for stored in self._keys:
            if hmac.compare_digest(stored.sha256, digest):
                found = stored.department
        return found


def add_key(path: Path, department: str, label: str) -> str:
    """Create a key for ``department``, store its hash in ``path``, and return the key itself."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    entries = json.loads(path.read_text())["keys"] if path.exists() else []
    entries.append(asdict(StoredKey(department, label, hash_key(key))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"keys": entries}, indent=2, ensure_ascii=False))
    path.chmod(0o600)
    return key
