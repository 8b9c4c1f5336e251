"""The registry's in-memory model, rebuilt by applying the log's records in order. No I/O.

Every instance replays the same log, so every instance ends with the same state. The model
holds subjects and their versions (soft-deleted ones included, flagged), the schemas by id,
the compatibility configs, the modes, the highest id ever given out, and the current primary.

Fencing: a primary announces itself with a :class:`PrimaryRecord` carrying a higher epoch
than any before; every other record it writes carries its (epoch, instance) as a fence. A
record is applied only if its fence names the primary announced last *at that point in the
log*. A stale primary (one that lost the election but has not noticed yet) therefore cannot
change the state: its records are ignored by every instance, itself included, and it can
tell its client the write failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TypeVar

from schemas.registry.canonical import Reference, fingerprint
from schemas.registry.compatibility import DEFAULT_LEVEL, CompatibilityLevel
from schemas.registry.modes import DEFAULT_MODE, Mode
from schemas.registry.records import (
    ConfigRecord,
    ModeRecord,
    PrimaryRecord,
    SchemaRecord,
    SchemaValue,
    StoreRecord,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Fence:
    """Which primary wrote a record."""

    epoch: int
    instance: str


@dataclass(frozen=True)
class Primary:
    """The primary announced last: its epoch, instance id and URL."""

    epoch: int
    instance: str
    url: str

    @property
    def fence(self) -> Fence:
        return Fence(self.epoch, self.instance)


@dataclass(frozen=True)
class Version:
    """One version of a subject."""

    subject: str
    version: int
    schema_id: int
    schema: str
    references: tuple[Reference, ...]
    deleted: bool
    fingerprint: str


@dataclass(frozen=True)
class StoredSchema:
    """A schema by id: its canonical text and references."""

    schema_id: int
    schema: str
    references: tuple[Reference, ...]


class RegistryState:
    """Subjects, versions, ids, configs, modes and the primary, as of the last applied record."""

    def __init__(self) -> None:
        self._subjects: dict[str, dict[int, Version]] = {}
        self._configs: dict[str | None, CompatibilityLevel] = {}
        self._modes: dict[str | None, Mode] = {}
        self._usages: dict[int, set[tuple[str, int]]] = {}
        self._schemas: dict[int, StoredSchema] = {}
        self._ids: dict[str, int] = {}
        self.max_id = 0
        self.primary: Primary | None = None

    # ----------------------------------------------------------------- applying records

    def apply(self, record: StoreRecord, fence: Fence | None) -> bool:
        """Apply one log record; return whether it was accepted (see fencing above)."""
        if isinstance(record, PrimaryRecord):
            return self._apply_primary(record)
        if self.primary is None or fence != self.primary.fence:
            log.warning(
                "ignoring a record not written by the current primary",
                extra={"record": repr(record), "fence": repr(fence), "primary": repr(self.primary)},
            )
            return False
        if isinstance(record, SchemaRecord):
            self._apply_schema(record)
        elif isinstance(record, ConfigRecord):
            level = None if record.level is None else CompatibilityLevel.parse(record.level)
            _set_or_unset(self._configs, record.subject, level)
        elif isinstance(record, ModeRecord):
            mode = None if record.mode is None else Mode.parse(record.mode)
            _set_or_unset(self._modes, record.subject, mode)
        else:
            self.max_id = max(self.max_id, record.max_id)
        return True

    def _apply_primary(self, record: PrimaryRecord) -> bool:
        if self.primary is not None and record.epoch <= self.primary.epoch:
            return False
        self.primary = Primary(record.epoch, record.instance, record.url)
        return True

    def _apply_schema(self, record: SchemaRecord) -> None:
        versions = self._subjects.setdefault(record.subject, {})
        old = versions.pop(record.version, None)
        if old is not None:
            self._forget_usage(old)
        if record.value is not None:
            versions[record.version] = _version(record.subject, record.version, record.value)
            self._remember_usage(versions[record.version])
        if not versions:
            del self._subjects[record.subject]

    def _remember_usage(self, version: Version) -> None:
        sid = version.schema_id
        self._usages.setdefault(sid, set()).add((version.subject, version.version))
        self._schemas[sid] = StoredSchema(sid, version.schema, version.references)
        self._ids[version.fingerprint] = sid
        self.max_id = max(self.max_id, sid)

    def _forget_usage(self, version: Version) -> None:
        sid = version.schema_id
        users = self._usages.get(sid, set())
        users.discard((version.subject, version.version))
        if not users:
            self._usages.pop(sid, None)
            self._schemas.pop(sid, None)
            self._ids.pop(version.fingerprint, None)

    # ----------------------------------------------------------------- subjects and versions

    def subjects(self, deleted: bool = False) -> list[str]:
        """Subject names with at least one live version (or any version if ``deleted``)."""
        return sorted(s for s in self._subjects if self.versions(s, deleted))

    def versions(self, subject: str, deleted: bool = False) -> list[Version]:
        """The subject's versions, oldest first; soft-deleted ones only if ``deleted``."""
        found = self._subjects.get(subject, {})
        return [found[n] for n in sorted(found) if deleted or not found[n].deleted]

    def version(self, subject: str, number: int) -> Version | None:
        """A version (soft-deleted or not) or ``None``."""
        return self._subjects.get(subject, {}).get(number)

    def latest(self, subject: str, deleted: bool = False) -> Version | None:
        versions = self.versions(subject, deleted)
        return versions[-1] if versions else None

    def next_version(self, subject: str) -> int:
        """The number a new version of ``subject`` gets (soft-deleted numbers are not reused)."""
        return max(self._subjects.get(subject, {}), default=0) + 1

    def find(self, subject: str, schema_fingerprint: str, deleted: bool = False) -> Version | None:
        """The newest version of ``subject`` holding the schema with this fingerprint."""
        matches = [v for v in self.versions(subject, deleted) if v.fingerprint == schema_fingerprint]
        return matches[-1] if matches else None

    # ----------------------------------------------------------------- schemas by id

    def schema(self, schema_id: int) -> StoredSchema | None:
        return self._schemas.get(schema_id)

    def id_for(self, schema_fingerprint: str) -> int | None:
        """The id already given to this schema, if any version still holds it."""
        return self._ids.get(schema_fingerprint)

    def usages(self, schema_id: int, deleted: bool = False) -> list[Version]:
        """The subject versions holding schema ``schema_id``, sorted by subject and version."""
        found = (self.version(s, n) for s, n in sorted(self._usages.get(schema_id, set())))
        return [v for v in found if v is not None and (deleted or not v.deleted)]

    def referenced_by(self, subject: str, version: int) -> list[int]:
        """Ids of live schemas that reference ``subject`` version ``version``."""
        ref_ids = {
            v.schema_id
            for versions in self._subjects.values()
            for v in versions.values()
            if not v.deleted and any(r.subject == subject and r.version == version for r in v.references)
        }
        return sorted(ref_ids)

    # ----------------------------------------------------------------- configs and modes

    def compatibility(self, subject: str | None = None) -> CompatibilityLevel:
        """The level that applies to ``subject``: its own, else the global one, else BACKWARD."""
        return self._configs.get(subject) or self._configs.get(None) or DEFAULT_LEVEL

    def subject_compatibility(self, subject: str) -> CompatibilityLevel | None:
        return self._configs.get(subject)

    def mode(self, subject: str | None = None) -> Mode:
        """The mode that applies to ``subject``: its own, else the global one, else READWRITE."""
        return self._modes.get(subject) or self._modes.get(None) or DEFAULT_MODE

    def subject_mode(self, subject: str) -> Mode | None:
        return self._modes.get(subject)


def _version(subject: str, number: int, value: SchemaValue) -> Version:
    digest = fingerprint(value.schema, value.references)
    return Version(subject, number, value.schema_id, value.schema, value.references, value.deleted, digest)


def _set_or_unset(table: dict[str | None, _T], key: str | None, value: _T | None) -> None:
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value
