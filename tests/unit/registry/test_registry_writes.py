"""Planning writes against the state, applying the plans as the primary would."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.registry import reads, writes
from schemas.registry.canonical import Reference
from schemas.registry.compatibility import CompatibilityLevel
from schemas.registry.errors import (
    IncompatibleSchema,
    InvalidSchema,
    OperationNotPermitted,
    ReferenceExists,
    RestError,
    SchemaNotFound,
    SubjectCompatibilityNotConfigured,
    SubjectModeNotConfigured,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
    VersionNotSoftDeleted,
    VersionSoftDeleted,
)
from schemas.registry.inputs import SchemaRequest
from schemas.registry.modes import Mode
from schemas.registry.records import PrimaryRecord
from schemas.registry.state import Fence, RegistryState
from schemas.registry.writes import Plan


class Primary:
    """The state of a primary that applies every plan it makes."""

    def __init__(self) -> None:
        self.state = RegistryState()
        assert self.state.apply(PrimaryRecord(1, "me", "http://me"), None)

    def run(self, plan: Plan) -> Any:
        for record in plan.records:
            assert self.state.apply(record, Fence(1, "me"))
        return plan.reply

    def register(self, subject: str, schema: Any, references: tuple[Reference, ...] = ()) -> dict[str, Any]:
        text = schema if isinstance(schema, str) else json.dumps(schema)
        reply: dict[str, Any] = self.run(writes.plan_register(self.state, subject, SchemaRequest(text, references)))
        return reply


def rec(*fields: tuple[str, Any], name: str = "R") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": [{"name": n, "type": t} for n, t in fields]}


def rec_v2() -> dict[str, Any]:
    """``rec(("x", "int"))`` plus an optional field: a backward compatible second version."""
    schema = rec(("x", "int"))
    schema["fields"].append({"name": "y", "type": ["null", "int"], "default": None})
    return schema


@pytest.fixture
def primary() -> Primary:
    return Primary()


def test_register_gives_ids_and_versions(primary: Primary) -> None:
    assert primary.register("a", rec(("x", "int"))) == {"id": 1, "subject": "a", "version": 1}
    assert primary.register("a", rec_v2()) == {"id": 2, "subject": "a", "version": 2}
    assert primary.register("b", rec(("x", "int"))) == {"id": 1, "subject": "b", "version": 1}


def test_registering_an_existing_schema_writes_nothing(primary: Primary) -> None:
    primary.register("a", rec(("x", "int")))
    spaced = json.dumps(rec(("x", {"type": "int"})), indent=2)
    plan = writes.plan_register(primary.state, "a", SchemaRequest(spaced))
    assert plan.records == [] and plan.reply == {"id": 1, "subject": "a", "version": 1}
    assert not plan.new_version


def test_incompatible_schema_is_refused_with_reasons(primary: Primary) -> None:
    primary.register("a", rec(("x", "long")))
    with pytest.raises(IncompatibleSchema) as caught:
        primary.register("a", rec(("x", "int")))
    assert caught.value.http_status == 409 and caught.value.error_code == 409
    assert "/fields/x/type" in caught.value.message and "'a'" in caught.value.message
    assert caught.value.reasons
    primary.run(writes.plan_set_config(primary.state, "a", CompatibilityLevel.NONE))
    assert primary.register("a", rec(("x", "int")))["version"] == 2


def test_read_only_mode_refuses_schema_writes(primary: Primary) -> None:
    primary.register("a", rec(("x", "int")))
    primary.run(writes.plan_set_mode(primary.state, "a", Mode.READONLY))
    with pytest.raises(OperationNotPermitted) as caught:
        primary.register("a", rec_v2())
    assert caught.value.error_code == 42205 and "READONLY" in caught.value.message
    with pytest.raises(OperationNotPermitted):
        writes.plan_delete_subject(primary.state, "a", permanent=False)
    assert primary.register("b", rec(("x", "int")))["id"] == 1  # other subjects stay writable
    primary.run(writes.plan_set_mode(primary.state, None, Mode.READONLY_OVERRIDE))
    with pytest.raises(OperationNotPermitted):
        primary.register("c", rec(("x", "int")))


def test_soft_then_permanent_subject_delete(primary: Primary) -> None:
    primary.register("a", rec(("x", "int")))
    primary.register("a", rec_v2())
    with pytest.raises(SubjectNotSoftDeleted):
        writes.plan_delete_subject(primary.state, "a", permanent=True)
    assert primary.run(writes.plan_delete_subject(primary.state, "a", permanent=False)) == [1, 2]
    with pytest.raises(SubjectSoftDeleted):
        writes.plan_delete_subject(primary.state, "a", permanent=False)
    assert primary.run(writes.plan_delete_subject(primary.state, "a", permanent=True)) == [1, 2]
    with pytest.raises(SubjectNotFound):
        writes.plan_delete_subject(primary.state, "a", permanent=False)


def test_soft_then_permanent_version_delete(primary: Primary) -> None:
    primary.register("a", rec(("x", "int")))
    primary.register("a", rec_v2())
    with pytest.raises(VersionNotSoftDeleted):
        writes.plan_delete_version(primary.state, "a", 1, permanent=True)
    assert primary.run(writes.plan_delete_version(primary.state, "a", 1, permanent=False)) == 1
    with pytest.raises(VersionSoftDeleted):
        writes.plan_delete_version(primary.state, "a", 1, permanent=False)
    assert primary.run(writes.plan_delete_version(primary.state, "a", "latest", permanent=False)) == 2
    assert primary.run(writes.plan_delete_version(primary.state, "a", 1, permanent=True)) == 1
    with pytest.raises(VersionNotFound):
        writes.plan_delete_version(primary.state, "a", 1, permanent=True)
    with pytest.raises(SubjectNotFound):
        writes.plan_delete_version(primary.state, "nope", 1, permanent=False)
    assert primary.register("a", rec(("x", "int")))["version"] == 3  # 2 still exists, soft-deleted


def test_ids_are_never_reused_after_permanent_deletes(primary: Primary) -> None:
    assert primary.register("a", rec(("x", "int")))["id"] == 1
    assert primary.register("b", rec(("x", "string")))["id"] == 2
    for subject in ("a", "b"):
        primary.run(writes.plan_delete_subject(primary.state, subject, permanent=False))
        primary.run(writes.plan_delete_subject(primary.state, subject, permanent=True))
    assert primary.register("c", rec(("x", "long")))["id"] == 3
    assert primary.register("a", rec(("x", "int")))["id"] == 4  # the freed schema gets a fresh id


def test_references_are_resolved_and_protect_what_they_name(primary: Primary) -> None:
    address = {
        "type": "record",
        "name": "Address",
        "namespace": "gov",
        "fields": [{"name": "street", "type": "string"}],
    }
    home = {
        "type": "record",
        "name": "Home",
        "namespace": "gov",
        "fields": [{"name": "address", "type": "gov.Address"}],
    }
    ref = (Reference("gov.Address", "address", 1),)
    primary.register("address", address)
    assert primary.register("home", home, ref)["id"] == 2
    with pytest.raises(ReferenceExists):
        writes.plan_delete_version(primary.state, "address", 1, permanent=False)
    with pytest.raises(InvalidSchema) as caught:
        primary.register("home2", home, (Reference("gov.Address", "address", 9),))
    assert "version 9" in caught.value.message
    with pytest.raises(InvalidSchema):
        primary.register("home3", home)  # the name is unknown without the reference


def test_config_and_mode_deletes(primary: Primary) -> None:
    with pytest.raises(SubjectCompatibilityNotConfigured):
        writes.plan_delete_config(primary.state, "a")
    with pytest.raises(SubjectModeNotConfigured):
        writes.plan_delete_mode(primary.state, "a")
    primary.run(writes.plan_set_config(primary.state, "a", CompatibilityLevel.FULL))
    assert primary.run(writes.plan_delete_config(primary.state, "a")) == {"compatibilityLevel": "FULL"}
    primary.run(writes.plan_set_config(primary.state, None, CompatibilityLevel.NONE))
    assert primary.run(writes.plan_delete_config(primary.state, None)) == {"compatibilityLevel": "NONE"}
    assert primary.state.compatibility() is CompatibilityLevel.BACKWARD


def test_reads(primary: Primary) -> None:
    primary.register("a", rec(("x", "int")))
    state = primary.state
    assert reads.list_subjects(state, False, False, "") == ["a"]
    assert reads.list_versions(state, "a", False, False) == [1]
    assert reads.get_version(state, "a", "latest", False).schema_id == 1
    text = json.dumps(rec(("x", "int")))
    assert reads.lookup(state, "a", SchemaRequest(text), False)["version"] == 1
    errors: list[tuple[type[RestError], Any]] = [
        (SubjectNotFound, lambda: reads.get_version(state, "b", 1, False)),
        (VersionNotFound, lambda: reads.get_version(state, "a", 2, False)),
        (SchemaNotFound, lambda: reads.lookup(state, "a", SchemaRequest(json.dumps(rec(("y", "int")))), False)),
        (SchemaNotFound, lambda: reads.schema_by_id(state, 99)),
        (SubjectCompatibilityNotConfigured, lambda: reads.get_config(state, "a", False)),
        (SubjectModeNotConfigured, lambda: reads.get_mode(state, "a", False)),
    ]
    for error, call in errors:
        with pytest.raises(error):
            call()
    assert reads.get_config(state, "a", True) == {"compatibilityLevel": "BACKWARD"}
    verdict = reads.test_compatibility(state, "a", "latest", SchemaRequest(json.dumps(rec(("x", "string")))), True)
    assert verdict["is_compatible"] is False and len(verdict["messages"]) == 1
    primary.run(writes.plan_delete_subject(state, "a", permanent=False))
    assert reads.list_subjects(state, False, True, "") == ["a"]
    assert reads.list_versions(state, "a", False, True) == [1]
    with pytest.raises(SubjectNotFound):
        reads.list_versions(state, "a", False, False)
