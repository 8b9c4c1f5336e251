"""Answering read requests from the state: the JSON replies Confluent clients parse.

Reads never touch Kafka; every instance (primary or not) serves them from its replayed state.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.registry.compatibility import check_compatibility
from schemas.registry.errors import (
    SchemaNotFound,
    SubjectCompatibilityNotConfigured,
    SubjectModeNotConfigured,
    SubjectNotFound,
    VersionNotFound,
)
from schemas.registry.inputs import SchemaRequest, VersionSpec
from schemas.registry.references import parse_request, parsed_version
from schemas.registry.state import RegistryState, StoredSchema, Version


def list_subjects(state: RegistryState, deleted: bool, deleted_only: bool, prefix: str) -> list[str]:
    """Subject names; ``deleted_only`` lists subjects whose every version is soft-deleted."""
    names = state.subjects(deleted=deleted or deleted_only)
    if deleted_only:
        names = [n for n in names if not state.versions(n)]
    return [n for n in names if n.startswith(prefix)]


def list_versions(state: RegistryState, subject: str, deleted: bool, deleted_only: bool) -> list[int]:
    """Version numbers of ``subject`` (40401 if it has none to show)."""
    shown = state.versions(subject, deleted=deleted or deleted_only)
    if not shown:
        raise SubjectNotFound(subject)
    return [v.version for v in shown if v.deleted or not deleted_only]


def get_version(state: RegistryState, subject: str, spec: VersionSpec, deleted: bool) -> Version:
    """One version of a subject; soft-deleted ones only with ``deleted`` (40401 / 40402)."""
    if not state.versions(subject, deleted=deleted):
        raise SubjectNotFound(subject)
    found = state.latest(subject, deleted) if spec == "latest" else state.version(subject, spec)
    if found is None or (found.deleted and not deleted):
        raise VersionNotFound(subject, spec)
    return found


def version_reply(version: Version) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "subject": version.subject,
        "version": version.version,
        "id": version.schema_id,
        "schema": version.schema,
    }
    if version.references:
        reply["references"] = [r.to_json() for r in version.references]
    return reply


def raw_schema(text: str) -> Any:
    """The schema itself as JSON (the ``/schema`` endpoints)."""
    return json.loads(text)


def lookup(state: RegistryState, subject: str, request: SchemaRequest, deleted: bool) -> dict[str, Any]:
    """Which version of ``subject`` holds this schema (40401 no subject, 40403 not there)."""
    if not state.versions(subject, deleted=deleted):
        raise SubjectNotFound(subject)
    parsed = parse_request(state, request)
    found = state.find(subject, parsed.fingerprint, deleted=deleted)
    if found is None:
        raise SchemaNotFound(f"Schema not found under subject '{subject}'.")
    return version_reply(found)


def schema_by_id(state: RegistryState, schema_id: int) -> StoredSchema:
    found = state.schema(schema_id)
    if found is None:
        raise SchemaNotFound(f"Schema {schema_id} not found")
    return found


def schema_reply(stored: StoredSchema) -> dict[str, Any]:
    reply: dict[str, Any] = {"schema": stored.schema}
    if stored.references:
        reply["references"] = [r.to_json() for r in stored.references]
    return reply


def id_usages(state: RegistryState, schema_id: int, deleted: bool) -> list[Version]:
    """The subject versions holding an id (40403 if the id is unknown)."""
    schema_by_id(state, schema_id)
    return state.usages(schema_id, deleted=deleted)


def test_compatibility(
    state: RegistryState, subject: str, spec: VersionSpec | None, request: SchemaRequest, verbose: bool
) -> dict[str, Any]:
    """Would ``request`` be accepted under ``subject`` against ``spec`` (or all live versions)?"""
    if spec is None:
        targets = state.versions(subject)
    else:
        targets = [get_version(state, subject, spec, deleted=False)]
    candidate = parse_request(state, request)
    previous = [(v.version, parsed_version(state, v)) for v in targets]
    reasons = check_compatibility(state.compatibility(subject), candidate, previous)
    reply: dict[str, Any] = {"is_compatible": not reasons}
    if verbose:
        reply["messages"] = reasons
    return reply


def get_config(state: RegistryState, subject: str | None, default_to_global: bool) -> dict[str, Any]:
    """The compatibility level of ``subject`` (40408 if it has none) or the global one."""
    if subject is None:
        return {"compatibilityLevel": state.compatibility().value}
    level = state.subject_compatibility(subject)
    if level is None and not default_to_global:
        raise SubjectCompatibilityNotConfigured(subject)
    return {"compatibilityLevel": (level or state.compatibility()).value}


def get_mode(state: RegistryState, subject: str | None, default_to_global: bool) -> dict[str, Any]:
    """The mode of ``subject`` (40409 if it has none) or the global one."""
    if subject is None:
        return {"mode": state.mode().value}
    mode = state.subject_mode(subject)
    if mode is None and not default_to_global:
        raise SubjectModeNotConfigured(subject)
    return {"mode": (mode or state.mode()).value}
