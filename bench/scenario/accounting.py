"""Counting, record by record: what the departments were told was accepted against what the department topics,
the normaliser's outputs and each subscriber hold.

Per stage (publish, normalise): **lost** (accepted, then found nowhere), **duplicated** (one publication found
twice, or under two event ids), **unexpected** (found, never published). Per subscriber: **lost** (it should hold
it and does not), **duplicated** in effect (one change held under two event ids, or two states of one key),
**unexpected** (held, not owed: another item, outside the filter, after the revocation), **leaked** (a held record
carries a personal value the subscriber may not see in clear). Repeats of one event id (at-least-once delivery,
harmless to a receiver that drops repeats by ``idempotency_key``) are counted apart as **redelivered**.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.scenario.observed import Event, Observed
from schemas.catalogue import load_catalogue
from testsupport.personal_scan import findable, personal_values, values_at


@dataclass
class Counts:
    expected: int = 0
    held: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    leaked: int = 0
    redelivered: int = 0
    parked: int = 0
    """of the lost, those the connector parked after its last attempt (kept, audited, redeliverable by
    ``govbus subscriptions redeliver``, but not delivered)"""
    withheld_after_revocation: int = 0
    delivered_in_revocation_window: int = 0
    last_delivery_after_revocation_s: float = 0.0
    examples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(text)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StageCounts:
    published: int = 0
    refused_at_source: int = 0
    accepted: int = 0
    found: int = 0
    canonical: int = 0
    dead_letter: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    stored_again: int = 0
    """copies of one event id on a department topic (a local system's re-send): not duplicates in effect"""
    examples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < 8:
            self.examples.append(text)


INVALID_ON_PURPOSE = "check_character"
"""the rule every record the scenario makes invalid on purpose breaks (a wrong check character); any other refusal
of a record that passed no dialect is a valid record lost"""
GATEWAY_ALL_INVALID = "HTTP 422"
"""the gateway's answer when every record of a batch failed validation (a client that did not read the answer
record by record wrote only this)"""
SOURCE_VALIDATED = ("sdk", "bulk", "gateway", "outbox")
"""paths whose records are validated before they are published: the normaliser has no reason to dead-letter one"""


def account_stages(ledger: list[dict[str, Any]], outbox_refused: dict[str, str], observed: Observed) \
        -> tuple[StageCounts, dict[str, float]]:
    """The publish and normalise stages; and each published event id's hand-off time (when its department was
    told it was accepted). ``outbox_refused``: event id -> the rule the outbox connector refused it for."""
    counts = StageCounts()
    handoff: dict[str, float] = {}
    paths: dict[str, str] = {}
    claimed, duplicates = _claim_ledger(ledger, outbox_refused, observed, counts, handoff, paths)
    _account_normaliser(observed, claimed, duplicates, counts, paths)
    return counts, handoff


def _refused(line: dict[str, Any], outbox_refused: dict[str, str], counts: StageCounts) -> None:
    """A record refused at its source: expected when it was made invalid on purpose, else a valid record lost."""
    counts.refused_at_source += 1
    reason = line.get("reason") or outbox_refused.get(str(line.get("event_id")), "")
    if INVALID_ON_PURPOSE not in reason and not reason.startswith(GATEWAY_ALL_INVALID):
        counts.lost += 1
        counts.note(f"a valid record refused at the source ({line['path']} {line['item']}): {reason}")


def _claim_ledger(ledger: list[dict[str, Any]], outbox_refused: dict[str, str], observed: Observed,
                  counts: StageCounts, handoff: dict[str, float], paths: dict[str, str]) -> tuple[set[str], set[str]]:
    """Match every accepted ledger line with the department event it became (by event id, or for a bulk file's
    line by topic and key); count the publish stage; return the event ids published, and the extra ids of changes
    stored twice."""
    by_id: dict[str, list[Event]] = defaultdict(list)
    by_key: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for event in observed.department:
        by_id[event.event_id].append(event)
        by_key[(event.topic, event.key)].append(event)
    claimed: set[str] = set()
    for line in ledger:
        counts.published += 1
        event_id = line.get("event_id")
        if not line["accepted"] or (event_id and event_id in outbox_refused):
            _refused(line, outbox_refused, counts)
            continue
        counts.accepted += 1
        if event_id and event_id in claimed:  # a local system's re-send of one event: the same id again
            continue
        candidates = by_id.get(event_id, []) if event_id else \
            [e for e in by_key.get((line["topic"], line["key"]), []) if e.event_id not in claimed]
        if not candidates:
            counts.lost += 1
            counts.note(f"published, not on its topic: {line['path']} {line['item']} event {event_id}")
            continue
        chosen = candidates[0].event_id
        claimed.add(chosen)
        handoff[chosen] = float(line["t"])
        paths[chosen] = str(line["path"])
        counts.found += 1
    duplicates = _same_change_twice(observed.department, claimed)
    counts.duplicated += len(duplicates)
    for event_id in sorted(duplicates):
        counts.note(f"one change stored under a second event id (a retry): event {event_id}")
    for event_id, events in by_id.items():
        counts.stored_again += len(events) - 1  # one event id stored twice: a re-send, dropped by its id
        if event_id not in claimed and event_id not in duplicates:
            counts.unexpected += 1
            counts.note(f"on a department topic, never published: {events[0].topic} event {event_id}")
    return claimed, duplicates


def _same_change_twice(events: list[Event], claimed: set[str]) -> set[str]:
    """The extra event ids of publications stored under two ids (one change, two ids: a client's retry the bus
    cannot recognise); the extra ids are not in the ledger."""
    ids_by_change: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for event in events:
        body = json.dumps(event.record, sort_keys=True, ensure_ascii=False, default=str)
        ids_by_change[(event.topic, event.key, body)].add(event.event_id)
    return {extra for ids in ids_by_change.values() if ids & claimed and len(ids) > 1 for extra in ids - claimed}


def _account_normaliser(observed: Observed, published: set[str], duplicates: set[str], counts: StageCounts,
                        paths: dict[str, str]) -> None:
    """Each published event must leave the normaliser exactly once: canonical or dead letter."""
    at = observed.department_at()
    dead: Counter[str] = Counter()
    for topic, partition, offset, _reason in observed.dead_letters:
        source = at.get((topic, partition, offset))
        if source is not None:
            dead[source.event_id] += 1
    canonical = Counter(e.event_id for e in observed.canonical)
    counts.canonical = sum(1 for e in published if canonical[e])
    counts.dead_letter = sum(1 for e in published if dead[e] and not canonical[e])
    for event_id in published:
        outputs = canonical[event_id] + dead[event_id]
        if outputs == 0:
            counts.lost += 1
            counts.note(f"published, neither canonical nor dead-lettered: event {event_id}")
        elif dead[event_id] and paths.get(event_id) in SOURCE_VALIDATED:
            counts.lost += 1
            counts.note(f"a record validated at its source ({paths[event_id]}) was dead-lettered: event {event_id}")
        elif outputs > 1:
            counts.duplicated += outputs - 1
            counts.note(f"normalised {outputs} times: event {event_id}")
    for event_id in set(canonical) - published - duplicates:  # a duplicate is counted once, where it was stored
        counts.unexpected += 1
        counts.note(f"canonical, never published: event {event_id}")


def personal_of(event: Event) -> dict[str, set[str]]:
    """Path -> the findable personal values of ``event``'s record."""
    if event.record is None:
        return {}
    personal = load_catalogue().get(event.item).personal_fields
    found: dict[str, set[str]] = {}
    for path, kind in personal.items():
        values = {findable(kind, value) for value in values_at(event.record, path)} - {""}
        if values:
            found[path] = values
    return found


def _not_personal_strings(event: Event) -> set[str]:
    """The strings of ``event``'s top-level fields that are not personal (e.g. an authority's name that happens to
    equal a subject's)."""
    if event.record is None:
        return set()
    personal = {path.split(".")[0].split("[")[0] for path in load_catalogue().get(event.item).personal_fields}
    return {text for name, value in event.record.items() if name not in personal for text in strings_in(value)}


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside ``value`` (dict values, list elements), stripped."""
    if isinstance(value, str):
        yield value.strip()
    elif isinstance(value, Mapping):
        for inner in value.values():
            yield from strings_in(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from strings_in(inner)


def leaks(held: Any, event: Event | None, clear: Iterable[str]) -> list[str]:
    """The personal paths of ``event`` whose clear value ``held`` carries though the subscriber may not see it
    (``clear``: the paths its plan delivers in clear); and any whole valid resident identity number in it."""
    found = []
    held_strings = set(strings_in(held))
    allowed = set(clear)
    if event is not None:
        disclosed = _not_personal_strings(event)  # a personal value equal to a public one is shown by that one
        for path, values in personal_of(event).items():
            if path not in allowed and (values - disclosed) & held_strings:
                found.append(path)
    if not any("resident_id" in path for path in allowed):
        text = json.dumps(held, ensure_ascii=False, default=str)
        if personal_values(text):
            found.append("a resident identity number")
    return found


def duplicated_in_effect(held: Iterable[tuple[str, str, Any]]) -> int:
    """One change held under more than one event id: (item, key, record) equal, event ids distinct."""
    seen: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for event_id, key, record in held:
        item = record.get("item", "") if isinstance(record, Mapping) else ""
        body = json.dumps(record.get("record") if isinstance(record, Mapping) else record, sort_keys=True,
                          ensure_ascii=False, default=str)
        seen[(str(item), key, body)].add(event_id)
    return sum(len(ids) - 1 for ids in seen.values())
