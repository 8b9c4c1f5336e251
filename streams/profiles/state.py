"""The pure part of a profile: its state, how one change updates it, and the profile it shows.

No Kafka here: the steps in :mod:`streams.profiles.app` call these functions, and the
unit tests call them directly.

**State** of one profile key is a JSON-native dict (it is the table value, written to the
changelog as JSON)::

    {side: {record_key: [version, record_or_null]}}

``version`` is the offset of the record's change on its canonical topic: every change of one
record key is on one canonical partition, so offsets order them. A change whose version is not
above the one held is stale (a replay after a restart, or a duplicate forward) and changes
nothing. A removed record keeps its version with ``null``, so a late stale change cannot bring
it back. Records are Avro-native (dates as days, timestamps as epoch milliseconds), so the
profile encodes without conversion and the state survives JSON unchanged.

**The profile** shown for a key is a pure function of that key's state (:func:`profile_content`):
no clock, no arrival order, ties broken by record key. Output events add an id derived from the
causing event (:func:`profile_event_id`), so a re-emit after a restart is byte-identical.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from schemas.catalogue.profiles import ProfileDefinition, ProfileSide, SideKind

State = dict[str, dict[str, list[Any]]]
"""``{side: {record_key: [version, record_or_None]}}``"""

PROFILE_EVENT_NAMESPACE = uuid.UUID("6d1b5f3c-3b0e-5a53-9a51-6f7a0c2b9e11")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DAY = dt.date(1970, 1, 1)


class Emit(StrEnum):
    NOTHING = "nothing"
    PROFILE = "profile"
    TOMBSTONE = "tombstone"


@dataclass(frozen=True)
class Change:
    """One record of one side, as it now is for this profile key (``record`` None: gone)."""

    side: str
    record_key: str
    version: int
    record: dict[str, Any] | None


@dataclass(frozen=True)
class Outcome:
    state: State
    applied: bool
    emit: Emit


@dataclass(frozen=True)
class Cause:
    """The canonical event behind a change, as the profile event names it."""

    event_id: str
    data_item: str
    operation: str
    record_key: str
    occurred_at_ms: int

    def to_avro(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "data_item": self.data_item, "operation": self.operation,
                "record_key": self.record_key, "occurred_at": self.occurred_at_ms}


def apply_change(definition: ProfileDefinition, state: State, change: Change) -> Outcome:
    """``state`` after ``change``, and what to emit.

    Emits the profile when the anchor record is present after the change and the change touched
    a record that is or was visible in this profile; a tombstone when it removed the anchor
    record; nothing for a stale change, a change while there is no anchor record, or the
    removal of a record this profile never showed.
    """
    entries = state.get(change.side, {})
    held = entries.get(change.record_key)
    if held is not None and held[0] >= change.version:
        return Outcome(state, applied=False, emit=Emit.NOTHING)
    was_visible = held is not None and held[1] is not None
    is_visible = change.record is not None
    new_state: State = {**state, change.side: {**entries, change.record_key: [change.version, change.record]}}
    if change.side == definition.anchor.side:
        emit = Emit.PROFILE if is_visible else (Emit.TOMBSTONE if was_visible else Emit.NOTHING)
    elif (was_visible or is_visible) and anchor_record(definition, new_state) is not None:
        emit = Emit.PROFILE
    else:
        emit = Emit.NOTHING
    return Outcome(new_state, applied=True, emit=emit)


def visible_records(state: Mapping[str, Mapping[str, list[Any]]], side: str) -> dict[str, dict[str, Any]]:
    """The records of ``side`` present now, by record key."""
    return {key: held[1] for key, held in state.get(side, {}).items() if held[1] is not None}


def anchor_record(definition: ProfileDefinition, state: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, Any] | None:
    records = visible_records(state, definition.anchor.side)
    return records[min(records)] if records else None


def _order_key(side: ProfileSide, record_key: str, record: Mapping[str, Any]) -> tuple[Any, ...]:
    values = tuple((record.get(name) is not None, record.get(name) or 0) for name in side.order_by)
    return (*values, record_key)


def _ordered(side: ProfileSide, records: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [records[key] for key in sorted(records, key=lambda k: _order_key(side, k, records[k]))]


def profile_content(definition: ProfileDefinition, key: str,
                    state: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, Any] | None:
    """The profile of ``key`` (every field but ``event_id`` and ``caused_by``); None without anchor."""
    anchor = anchor_record(definition, state)
    if anchor is None:
        return None
    content: dict[str, Any] = {definition.key_field: key}
    for side in definition.sides:
        if side.kind is SideKind.ANCHOR:
            content[side.field] = anchor
            continue
        records = _ordered(side, visible_records(state, side.side))
        if side.kind is SideKind.LIST:
            content[side.field] = records
        else:
            content[side.field] = records[-1] if records else None
            content[str(side.count_field)] = len(records)
    return content


def profile_event_id(profile: str, key: str, input_event_id: str) -> str:
    """The id of the profile event ``input_event_id`` caused for ``key``: the same on every re-emit."""
    return str(uuid.uuid5(PROFILE_EVENT_NAMESPACE, f"{profile}|{key}|{input_event_id}"))


def profile_event(content: Mapping[str, Any], cause: Cause, event_id: str) -> dict[str, Any]:
    """The value written to the profile topic: ``content`` with its event id (:func:`profile_event_id` of its key
    and ``cause``) and cause."""
    return {"event_id": event_id, "caused_by": cause.to_avro(), **content}


def avro_native(value: Any) -> Any:
    """``value`` with dates as days since 1970-01-01 and aware datetimes as epoch milliseconds."""
    if isinstance(value, dt.datetime):
        return (value - _EPOCH) // dt.timedelta(milliseconds=1)
    if isinstance(value, dt.date):
        return (value - _EPOCH_DAY).days
    if isinstance(value, dict):
        return {k: avro_native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [avro_native(v) for v in value]
    return value
