"""Planning writes: given the current state and a request, the records to append and the reply.

Pure functions, no I/O: the service runs them in the primary under its write lock, appends
the planned records to the log, and answers only once they are applied. A plan with no
records (e.g. registering a schema the subject already has) is answered at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.registry.canonical import ParsedSchema
from schemas.registry.compatibility import CompatibilityLevel, check_compatibility
from schemas.registry.errors import (
    IncompatibleSchema,
    OperationNotPermitted,
    ReferenceExists,
    SubjectCompatibilityNotConfigured,
    SubjectModeNotConfigured,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
    VersionNotSoftDeleted,
    VersionSoftDeleted,
)
from schemas.registry.inputs import SchemaRequest, VersionSpec
from schemas.registry.modes import Mode
from schemas.registry.records import (
    ConfigRecord,
    IdHighWaterRecord,
    ModeRecord,
    SchemaRecord,
    SchemaValue,
    StoreRecord,
)
from schemas.registry.references import parse_request, parsed_version
from schemas.registry.state import RegistryState, Version


@dataclass
class Plan:
    """Records to append (in order) and the JSON reply once they are applied."""

    reply: Any
    records: list[StoreRecord] = field(default_factory=list)
    new_version: bool = False


def plan_register(state: RegistryState, subject: str, request: SchemaRequest) -> Plan:
    """Register ``request`` under ``subject``: the same schema gets the same id everywhere."""
    _require_writable(state, subject)
    parsed = parse_request(state, request)
    existing = state.find(subject, parsed.fingerprint)
    if existing is not None:
        return Plan(_registered_reply(existing.schema_id, subject, existing.version))
    _require_compatible(state, subject, parsed)
    records: list[StoreRecord] = []
    schema_id = state.id_for(parsed.fingerprint)
    if schema_id is None:
        schema_id = state.max_id + 1
        records.append(IdHighWaterRecord(schema_id))
    number = state.next_version(subject)
    records.append(SchemaRecord(subject, number, SchemaValue(schema_id, parsed.canonical, parsed.references)))
    return Plan(_registered_reply(schema_id, subject, number), records, new_version=True)


def _registered_reply(schema_id: int, subject: str, version: int) -> dict[str, Any]:
    return {"id": schema_id, "subject": subject, "version": version}


def _require_writable(state: RegistryState, subject: str | None) -> None:
    mode = state.mode(subject)
    if not mode.writable:
        where = f"Subject '{subject}'" if subject else "The registry"
        raise OperationNotPermitted(
            f"{where} is in {mode.value} mode: schemas cannot be registered or deleted. "
            "Set the mode to READWRITE (PUT /mode) first."
        )


def _require_compatible(state: RegistryState, subject: str, parsed: ParsedSchema) -> None:
    level = state.compatibility(subject)
    previous = [(v.version, parsed_version(state, v)) for v in state.versions(subject)]
    reasons = check_compatibility(level, parsed, previous)
    if reasons:
        message = (
            f"Schema being registered is incompatible with an earlier schema for subject '{subject}' "
            f"(compatibility {level.value}); reasons: " + "; ".join(reasons)
        )
        raise IncompatibleSchema(message, reasons)


def plan_delete_subject(state: RegistryState, subject: str, permanent: bool) -> Plan:
    """Soft delete every live version, or permanently delete an already soft-deleted subject."""
    _require_writable(state, subject)
    every = state.versions(subject, deleted=True)
    if not every:
        raise SubjectNotFound(subject)
    live = [v for v in every if not v.deleted]
    if permanent and live:
        raise SubjectNotSoftDeleted(subject)
    if not permanent and not live:
        raise SubjectSoftDeleted(subject)
    doomed = every if permanent else live
    for version in doomed:
        _require_unreferenced(state, version)
    records: list[StoreRecord] = [_deleted(v, permanent) for v in doomed]
    return Plan([v.version for v in doomed], records)


def plan_delete_version(state: RegistryState, subject: str, spec: VersionSpec, permanent: bool) -> Plan:
    """Soft delete one version, or permanently delete an already soft-deleted one."""
    _require_writable(state, subject)
    if not state.versions(subject, deleted=True):
        raise SubjectNotFound(subject)
    version = _resolve_for_delete(state, subject, spec, permanent)
    if permanent and not version.deleted:
        raise VersionNotSoftDeleted(subject, version.version)
    if not permanent and version.deleted:
        raise VersionSoftDeleted(subject, version.version)
    _require_unreferenced(state, version)
    return Plan(version.version, [_deleted(version, permanent)])


def _resolve_for_delete(state: RegistryState, subject: str, spec: VersionSpec, permanent: bool) -> Version:
    found = state.latest(subject, deleted=permanent) if spec == "latest" else state.version(subject, spec)
    if found is None:
        raise VersionNotFound(subject, spec)
    return found


def _require_unreferenced(state: RegistryState, version: Version) -> None:
    users = state.referenced_by(version.subject, version.version)
    if users:
        raise ReferenceExists(
            f"Subject '{version.subject}' version {version.version} is referenced by schema ids "
            f"{users}; delete those first."
        )


def _deleted(version: Version, permanent: bool) -> SchemaRecord:
    if permanent:
        return SchemaRecord(version.subject, version.version, None)
    value = SchemaValue(version.schema_id, version.schema, version.references, deleted=True)
    return SchemaRecord(version.subject, version.version, value)


def plan_set_config(state: RegistryState, subject: str | None, level: CompatibilityLevel) -> Plan:
    return Plan({"compatibility": level.value}, [ConfigRecord(subject, level.value)])


def plan_delete_config(state: RegistryState, subject: str | None) -> Plan:
    """Unset a subject's level (40408 if it has none) or reset the global one to BACKWARD."""
    if subject is None:
        return Plan({"compatibilityLevel": state.compatibility().value}, [ConfigRecord(None, None)])
    current = state.subject_compatibility(subject)
    if current is None:
        raise SubjectCompatibilityNotConfigured(subject)
    return Plan({"compatibilityLevel": current.value}, [ConfigRecord(subject, None)])


def plan_set_mode(state: RegistryState, subject: str | None, mode: Mode) -> Plan:
    return Plan({"mode": mode.value}, [ModeRecord(subject, mode.value)])


def plan_delete_mode(state: RegistryState, subject: str | None) -> Plan:
    """Unset a subject's mode (40409 if it has none) or reset the global one to READWRITE."""
    if subject is None:
        return Plan({"mode": state.mode().value}, [ModeRecord(None, None)])
    current = state.subject_mode(subject)
    if current is None:
        raise SubjectModeNotConfigured(subject)
    return Plan({"mode": current.value}, [ModeRecord(subject, None)])
