"""The pure profile logic: applying changes, what is emitted, the profile shown, event ids."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from typing import Any

import pytest

from schemas.catalogue.profiles import load_profile, load_profiles
from streams.profiles.routing import History, route, routes_for
from streams.profiles.state import (
    Cause,
    Change,
    Emit,
    State,
    apply_change,
    avro_native,
    profile_content,
    profile_event,
    profile_event_id,
)
from testsupport.profile_inputs import expected_final_profiles, profile_scenario

ENTERPRISE = load_profile("enterprise")
REG = {"uscc": "A", "name": "甲公司"}


def _apply(state: State, side: str, key: str, version: int, record: dict[str, Any] | None) -> Any:
    return apply_change(ENTERPRISE, state, Change(side, key, version, record))


def test_the_anchor_record_makes_the_profile_and_its_deletion_a_tombstone() -> None:
    created = _apply({}, "registration", "A", 1, REG)
    assert created.applied and created.emit is Emit.PROFILE
    gone = _apply(created.state, "registration", "A", 2, None)
    assert gone.emit is Emit.TOMBSTONE and profile_content(ENTERPRISE, "A", gone.state) is None
    assert _apply(gone.state, "registration", "A", 3, None).emit is Emit.NOTHING, "deleting what is gone"


def test_sides_emit_only_with_an_anchor_and_only_when_visible() -> None:
    early = _apply({}, "credit_records", "D1", 5, {"decision_number": "D1", "decided_on": 10})
    assert early.applied and early.emit is Emit.NOTHING, "no profile before the registration"
    with_anchor = _apply(early.state, "registration", "A", 1, REG)
    assert profile_content(ENTERPRISE, "A", with_anchor.state)["credit_records"] == [  # type: ignore[index]
        {"decision_number": "D1", "decided_on": 10}]
    assert _apply(with_anchor.state, "credit_records", "D9", 7, None).emit is Emit.NOTHING, "never shown"
    removed = _apply(with_anchor.state, "credit_records", "D1", 6, None)
    assert removed.emit is Emit.PROFILE
    assert profile_content(ENTERPRISE, "A", removed.state)["credit_records"] == []  # type: ignore[index]


def test_a_change_not_newer_than_the_held_version_is_stale() -> None:
    state = _apply({}, "registration", "A", 4, REG).state
    for version in (4, 3):
        stale = _apply(state, "registration", "A", version, {**REG, "name": "旧"})
        assert not stale.applied and stale.emit is Emit.NOTHING and stale.state is state
    removed = _apply(state, "credit_records", "D1", 9, None).state
    late = _apply(removed, "credit_records", "D1", 8, {"decision_number": "D1", "decided_on": 1})
    assert not late.applied, "a removed record keeps its version so a late change cannot bring it back"


def test_lists_sort_by_their_order_fields_then_key_and_latest_picks_the_last() -> None:
    state: State = _apply({}, "registration", "A", 1, REG).state
    for key, version, decided in (("D3", 2, 20), ("D1", 3, 20), ("D2", 4, 5)):
        state = _apply(state, "credit_records", key, version, {"decision_number": key, "decided_on": decided}).state
    for key, version, paid, issued in (("T1", 5, 100, 1), ("T2", 6, 300, 1), ("T3", 7, 300, 0)):
        state = _apply(state, "tax_payment_certificates", key, version,
                       {"certificate_number": key, "paid_at": paid, "issued_on": issued}).state
    content = profile_content(ENTERPRISE, "A", state)
    assert content is not None
    assert [r["decision_number"] for r in content["credit_records"]] == ["D2", "D1", "D3"]
    assert content["latest_tax_payment_certificate"]["certificate_number"] == "T2"
    assert content["tax_payment_certificate_count"] == 3


def test_state_survives_json_and_the_profile_is_a_pure_function_of_it() -> None:
    state = _apply({}, "registration", "A", 1, REG).state
    state = _apply(state, "procurement_awards", "P|1", 2, {"project_number": "P", "awarded_on": 3}).state
    assert json.loads(json.dumps(state)) == state
    assert profile_content(ENTERPRISE, "A", json.loads(json.dumps(state))) == profile_content(ENTERPRISE, "A", state)


def test_event_ids_derive_from_profile_key_and_input_event() -> None:
    input_id = str(uuid.uuid4())
    assert profile_event_id("enterprise", "A", input_id) == profile_event_id("enterprise", "A", input_id)
    assert len({profile_event_id("enterprise", "A", input_id), profile_event_id("enterprise", "B", input_id),
                profile_event_id("person", "A", input_id)}) == 3
    cause = Cause(input_id, "enterprise_registration", "UPSERT", "A", 0)
    content = profile_content(ENTERPRISE, "A", _apply({}, "registration", "A", 1, REG).state)
    assert content is not None
    event = profile_event(content, cause, profile_event_id("enterprise", "A", input_id))
    assert event["event_id"] == profile_event_id("enterprise", "A", input_id)
    assert event[ENTERPRISE.key_field] == "A"
    assert event["caused_by"]["event_id"] == input_id


def test_avro_native_turns_dates_and_timestamps_into_numbers() -> None:
    value = {"d": dt.date(1970, 1, 11), "t": dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC),
             "l": [dt.date(1969, 12, 31)]}
    assert avro_native(value) == {"d": 10, "t": 1000, "l": [-1]}


def _simulate(events: list[Any], replay: random.Random | None) -> tuple[dict[str, dict[str, State]], set[str]]:
    """The re-key and build stages in memory; with ``replay``, forwards are duplicated at random
    and a stretch of the log is applied twice (what a restart after a crash does)."""
    definitions = load_profiles()
    histories: dict[tuple[str, str], History] = {}
    inputs: dict[str, list[tuple[str, Change]]] = {d.name: [] for d in definitions}
    for offset, event in enumerate(events):
        routes = routes_for(event.item, definitions)
        record_id = (event.item, event.record_key)
        forwards, histories[record_id] = route(routes, event.record_key, event.event.record,
                                               histories.get(record_id, {}))
        for forward in forwards:
            record = None if forward.remove or event.event.record is None else avro_native(event.event.record)
            inputs[forward.profile].append((forward.key, Change(forward.side, event.record_key, offset, record)))
    states: dict[str, dict[str, State]] = {}
    emitted: set[str] = set()
    for definition in definitions:
        log = inputs[definition.name]
        if replay is not None:
            log = [entry for i, entry in enumerate(log)
                   for _ in range(2 if replay.random() < 0.2 else 1)]  # duplicated forwards
            cut = replay.randrange(len(log))
            log = log[:cut] + log[max(0, cut - replay.randrange(200)):]  # replay after a "restart"
        table: dict[str, State] = {}
        for key, change in log:
            outcome = apply_change(definition, table.get(key, {}), change)
            table[key] = outcome.state
            if outcome.emit is not Emit.NOTHING:
                content = profile_content(definition, key, outcome.state)
                emitted.add(json.dumps([definition.name, key, change.version, content], sort_keys=True))
        states[definition.name] = table
    return states, emitted


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replays_and_duplicates_end_in_the_expected_profiles(seed: int) -> None:
    events = profile_scenario(load_profiles(), anchors_per_profile=25, seed=seed)
    clean = _simulate(events, None)[1]
    for replay in (None, random.Random(seed)):
        states, emitted = _simulate(events, replay)
        assert emitted == clean, "a replayed or duplicated forward emits nothing new"
        for definition in load_profiles():
            expected = expected_final_profiles(definition, events)
            table = states[definition.name]
            got = {key: profile_content(definition, key, table.get(key, {})) for key in expected}
            assert got == expected
