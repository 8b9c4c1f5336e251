"""Register every catalogue item's change-event schema in the schema registry (`govbus schemas sync`).

For each item the subject is the value subject of its department topic
(``govbus.dept.<department>.<item>-value``, see :mod:`govbus.topic_names`) and the schema is
the item's change-event envelope (:meth:`DataItem.event_schema`). A sync:

1. sets each subject's compatibility level from the item's metadata (not in a dry run);
2. checks every item: already registered (*unchanged*), a *new* subject, a compatible change
   (*changed*), or a change the level forbids (*refused*, with the registry's reasons from
   ``POST /compatibility/subjects/{subject}/versions?verbose=true``);
3. registers the new and changed schemas, but only if nothing was refused: a catalogue with
   one incompatible item registers nothing, so a release is applied whole or not at all.
   A dry run stops after step 2.

The registry is reached with ``confluent_kafka.schema_registry.SchemaRegistryClient``; the
verbose compatibility check, which that client does not expose, is a plain HTTP call.
Registry and network failures become :class:`govbus.exceptions.RegistryError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from govbus import clients
from govbus.connection import RegistryConnection
from govbus.exceptions import RegistryError
from govbus.topic_names import DEFAULT_PREFIX
from schemas.catalogue.model import DataItem

log = logging.getLogger(__name__)

SUBJECT_NOT_FOUND = 40401
SCHEMA_NOT_FOUND = 40403
INCOMPATIBLE = 409
T = TypeVar("T")


def _transport_errors() -> tuple[type[Exception], ...]:
    errors: list[type[Exception]] = [httpx.HTTPError, OSError]
    try:  # the registry client prefers httpx2 when it is installed
        import httpx2  # type: ignore[import-not-found,unused-ignore]

        errors.append(httpx2.HTTPError)
    except ImportError:
        pass
    return tuple(errors)


_TRANSPORT = _transport_errors()


class Outcome(StrEnum):
    NEW = "new"
    """The subject had no version; the schema becomes version 1."""
    CHANGED = "changed"
    """A compatible change; the schema becomes a new version."""
    UNCHANGED = "unchanged"
    """The schema is already registered under the subject."""
    REFUSED = "refused"
    """The change breaks the subject's compatibility level; see the reasons."""
    NOT_APPLIED = "not applied"
    """Compatible, but not registered because another item was refused."""


@dataclass
class SubjectSync:
    """What a sync did (or, in a dry run, would do) for one item."""

    item: str
    subject: str
    compatibility: str
    outcome: Outcome
    version: int | None = None
    schema_id: int | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    results: list[SubjectSync]
    dry_run: bool

    @property
    def refused(self) -> list[SubjectSync]:
        return [r for r in self.results if r.outcome is Outcome.REFUSED]

    @property
    def ok(self) -> bool:
        return not self.refused


class SchemaSync:
    """Registers items' event schemas under their department topics' value subjects."""

    def __init__(self, registry: RegistryConnection, prefix: str = DEFAULT_PREFIX, timeout: float = 30.0) -> None:
        self.registry_url = registry.url
        self.prefix = prefix
        self._registry = registry
        self._timeout = timeout
        self._client = clients.registry_client(registry, timeout)

    def subject_of(self, item: DataItem) -> str:
        return item.topics(self.prefix).department_subject

    def sync(self, items: Iterable[DataItem], dry_run: bool = False) -> SyncReport:
        """Check every item, then register the new and changed ones unless one is refused or ``dry_run``."""
        chosen = list(items)
        if not dry_run:
            for item in chosen:
                self._set_level(item)
        results = [self.check(item) for item in chosen]
        refused = any(r.outcome is Outcome.REFUSED for r in results)
        if not dry_run:
            for item, result in zip(chosen, results, strict=True):
                if result.outcome in (Outcome.NEW, Outcome.CHANGED):
                    if refused:
                        result.outcome = Outcome.NOT_APPLIED
                    else:
                        self._register(item, result)
        return SyncReport(results, dry_run)

    def check(self, item: DataItem) -> SubjectSync:
        """Where ``item``'s event schema stands in the registry (nothing is written)."""
        subject = self.subject_of(item)
        result = SubjectSync(item.name, subject, item.compatibility.value, Outcome.UNCHANGED)
        schema = Schema(item.event_schema_str(), "AVRO")
        found = self._call(f"looking up {subject}", lambda: self._client.lookup_schema(subject, schema),
                           missing=(SUBJECT_NOT_FOUND, SCHEMA_NOT_FOUND))
        if found is not None:
            result.version, result.schema_id = found.version, found.schema_id
            return result
        versions = self._call(f"listing versions of {subject}", lambda: self._client.get_versions(subject),
                              missing=(SUBJECT_NOT_FOUND,))
        if not versions:
            result.outcome = Outcome.NEW
            return result
        result.reasons = self.compatibility_reasons(subject, item.event_schema_str())
        result.outcome = Outcome.REFUSED if result.reasons else Outcome.CHANGED
        return result

    def compatibility_reasons(self, subject: str, schema_text: str) -> list[str]:
        """The registry's reasons ``schema_text`` may not be registered under ``subject``; empty if it may."""
        path = f"/compatibility/subjects/{quote(subject, safe='')}/versions"
        body = {"schema": schema_text, "schemaType": "AVRO"}
        with _translated(f"checking compatibility of {subject}", self.registry_url), \
                clients.registry_http(self._registry, self._timeout) as http:
            response = http.post(path, params={"verbose": "true"}, json=body)
        if response.status_code != 200:
            raise RegistryError(f"checking compatibility of {subject} at {self.registry_url} failed: "
                                f"HTTP {response.status_code} {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        if answer.get("is_compatible"):
            return []
        return [str(m) for m in answer.get("messages") or ["incompatible (the registry gave no reason)"]]

    def _set_level(self, item: DataItem) -> None:
        subject = self.subject_of(item)
        level = item.compatibility.value
        self._call(f"setting compatibility {level} on {subject}",
                   lambda: self._client.set_compatibility(subject_name=subject, level=level))

    def _register(self, item: DataItem, result: SubjectSync) -> None:
        schema = Schema(item.event_schema_str(), "AVRO")
        try:
            with _translated(f"registering {result.subject}", self.registry_url):
                result.schema_id = self._client.register_schema(result.subject, schema)
        except SchemaRegistryError as error:
            if error.error_code != INCOMPATIBLE:
                raise _registry_error(f"registering {result.subject}", self.registry_url, error) from error
            result.outcome, result.reasons = Outcome.REFUSED, [error.error_message]
            return
        registered = self._call(f"reading back {result.subject}", lambda: self._client.lookup_schema(
            result.subject, schema))
        result.version = registered.version if registered is not None else None
        log.info("registered", extra={"subject": result.subject, "version": result.version, "id": result.schema_id})

    def _call(self, what: str, call: Callable[[], T], missing: tuple[int, ...] = ()) -> T | None:
        """``call()``; ``None`` for the given 'not found' error codes; other failures as RegistryError."""
        try:
            with _translated(what, self.registry_url):
                return call()
        except SchemaRegistryError as error:
            if error.error_code in missing:
                return None
            raise _registry_error(what, self.registry_url, error) from error


def _registry_error(what: str, url: str, error: SchemaRegistryError) -> RegistryError:
    return RegistryError(f"{what} at {url} failed: {error.error_message} (error {error.error_code})")


@contextmanager
def _translated(what: str, url: str) -> Iterator[None]:
    """Network failures as :class:`RegistryError` saying where the registry was expected."""
    try:
        yield
    except _TRANSPORT as error:
        raise RegistryError(f"{what}: the schema registry at {url} cannot be reached ({error}); start it with "
                            "`govbus dev up` or point GOVBUS_REGISTRY__URL at it") from error
