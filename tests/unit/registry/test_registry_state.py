"""The in-memory model: applying log records, fencing, ids, soft deletes, configs and modes."""

from __future__ import annotations

from schemas.registry.canonical import Reference
from schemas.registry.compatibility import CompatibilityLevel
from schemas.registry.modes import Mode
from schemas.registry.records import (
    ConfigRecord,
    IdHighWaterRecord,
    ModeRecord,
    PrimaryRecord,
    SchemaRecord,
    SchemaValue,
)
from schemas.registry.state import Fence, RegistryState

ME = Fence(1, "me")


def primary_state() -> RegistryState:
    state = RegistryState()
    assert state.apply(PrimaryRecord(1, "me", "http://me"), None)
    return state


def put(
    state: RegistryState,
    subject: str,
    version: int,
    schema_id: int,
    schema: str = '"int"',
    deleted: bool = False,
    refs: tuple[Reference, ...] = (),
) -> None:
    assert state.apply(SchemaRecord(subject, version, SchemaValue(schema_id, schema, refs, deleted)), ME)


def test_records_need_the_current_primary_fence() -> None:
    state = RegistryState()
    record = SchemaRecord("s", 1, SchemaValue(1, '"int"'))
    assert not state.apply(record, ME)  # nobody is primary yet
    assert state.apply(PrimaryRecord(1, "me", "http://me"), None)
    assert not state.apply(record, None)
    assert not state.apply(record, Fence(1, "someone-else"))
    assert state.apply(record, ME)
    assert state.subjects() == ["s"]


def test_a_new_primary_fences_off_the_old_one() -> None:
    state = primary_state()
    assert not state.apply(PrimaryRecord(1, "other", "http://other"), None)  # same epoch: first one wins
    assert state.apply(PrimaryRecord(2, "other", "http://other"), None)
    assert state.primary is not None and state.primary.url == "http://other"
    assert not state.apply(SchemaRecord("late", 1, SchemaValue(1, '"int"')), ME)  # stale primary's write
    assert state.subjects() == []
    assert state.apply(SchemaRecord("new", 1, SchemaValue(1, '"int"')), Fence(2, "other"))
    assert not state.apply(PrimaryRecord(1, "me", "http://me"), None)  # epochs never go back


def test_same_schema_shares_an_id_across_subjects() -> None:
    state = primary_state()
    put(state, "a", 1, 7)
    put(state, "b", 1, 7)
    [version] = state.versions("a")
    assert state.id_for(version.fingerprint) == 7
    assert [(v.subject, v.version) for v in state.usages(7)] == [("a", 1), ("b", 1)]
    stored = state.schema(7)
    assert stored is not None and stored.schema == '"int"'


def test_soft_deleted_versions_are_hidden_unless_asked_for() -> None:
    state = primary_state()
    put(state, "s", 1, 1)
    put(state, "s", 2, 2, '"long"')
    put(state, "s", 1, 1, deleted=True)
    assert [v.version for v in state.versions("s")] == [2]
    assert [v.version for v in state.versions("s", deleted=True)] == [1, 2]
    assert state.schema(1) is not None  # still readable by id: old data needs it
    put(state, "s", 2, 2, '"long"', deleted=True)
    assert state.subjects() == [] and state.subjects(deleted=True) == ["s"]
    assert state.next_version("s") == 3  # numbers are not reused


def test_permanent_delete_frees_the_schema_but_not_the_id() -> None:
    state = primary_state()
    put(state, "s", 1, 5)
    [version] = state.versions("s")
    assert state.apply(SchemaRecord("s", 1, None), ME)
    assert state.subjects(deleted=True) == []
    assert state.schema(5) is None and state.id_for(version.fingerprint) is None
    assert state.max_id == 5
    assert state.next_version("s") == 1


def test_the_id_high_water_mark_survives_compaction_of_schema_records() -> None:
    state = primary_state()
    assert state.apply(IdHighWaterRecord(41), ME)
    assert state.max_id == 41
    assert state.apply(IdHighWaterRecord(3), ME)
    assert state.max_id == 41
    put(state, "s", 1, 42)
    assert state.max_id == 42


def test_configs_and_modes_fall_back_to_global_then_default() -> None:
    state = primary_state()
    assert state.compatibility("s") is CompatibilityLevel.BACKWARD
    assert state.mode("s") is Mode.READWRITE
    assert state.apply(ConfigRecord(None, "FULL"), ME)
    assert state.apply(ModeRecord(None, "READONLY"), ME)
    assert state.compatibility("s") is CompatibilityLevel.FULL and state.mode("s") is Mode.READONLY
    assert state.apply(ConfigRecord("s", "NONE"), ME)
    assert state.apply(ModeRecord("s", "READWRITE"), ME)
    assert state.compatibility("s") is CompatibilityLevel.NONE and state.mode("s") is Mode.READWRITE
    assert state.subject_compatibility("other") is None and state.subject_mode("other") is None
    assert state.apply(ConfigRecord("s", None), ME)
    assert state.apply(ModeRecord(None, None), ME)
    assert state.compatibility("s") is CompatibilityLevel.FULL and state.mode("s") is Mode.READWRITE


def test_referenced_by_lists_live_referrers_only() -> None:
    state = primary_state()
    put(state, "address", 1, 1, '{"type":"fixed","name":"A","size":1}')
    put(state, "home", 1, 2, '"A"', refs=(Reference("A", "address", 1),))
    assert state.referenced_by("address", 1) == [2]
    put(state, "home", 1, 2, '"A"', deleted=True, refs=(Reference("A", "address", 1),))
    assert state.referenced_by("address", 1) == []


def test_find_matches_by_fingerprint() -> None:
    state = primary_state()
    put(state, "s", 1, 1, '"int"')
    put(state, "s", 2, 2, '"long"')
    [v1, v2] = state.versions("s")
    found = state.find("s", v2.fingerprint)
    assert found is not None and found.version == 2
    assert state.find("other", v1.fingerprint) is None
