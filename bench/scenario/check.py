"""``govbus scenario check RUN_DIR``: the four counts of every subscriber, and of the publish and normalise stages.

What each subscriber is owed follows from the canonical events (each one traced back to its publication in the
ledger) and the subscription's plan as the grants allow it: its items, its filter, the fields masked; for the
revoked subscriber, only events published before the revocation (one published before it and refused after it is
counted ``withheld_after_revocation`` when the audit says so). What it holds is read from where it holds it: the
receiver's log of every request it accepted, the delivery topics, the mirror's tables and the feed's pages saved
at the end of the run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition

from bench.scenario import parties
from bench.scenario.accounting import Counts, StageCounts, account_stages, duplicated_in_effect, leaks
from bench.scenario.observed import Event, Observed, read_observed
from bench.scenario.recovery import latency_summary, recovery_times
from bench.scenario.spec import RunFiles, read_lines
from bench.scenario.streams_plan import streams
from connectors.kafka_delivery.settings import KafkaDeliverySettings
from consumers.audit_reader import read_audit_matching
from govbus import clients
from govbus.audit_record import Outcome
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.demo.results import jsonable
from govbus.sharing.authorisation import plan_request
from govbus.sharing.item_plan import ItemPlan
from govbus.sharing.model import Subscription
from govbus.sharing.runtime import consumer_group
from govbus.topic_names import canonical_topic, dead_letter_topic, delivery_topic, department_topic
from schemas.catalogue import load_catalogue
from streams.dialects import dialects_for

STREAM_PARTIES = (parties.CENTRE, parties.BANK, parties.HOTEL)
REVOCATION_BOUND_S = 2 * float(KafkaDeliverySettings.model_fields["kafka_delivery_refresh_seconds"].default)
"""a Kafka delivery connector decides only from a reading of the grants begun within two reloads (it waits while
there is none): a revocation takes effect within it"""
REVOCATION_SLACK_S = 5.0
"""beyond the bound: a batch the connector was writing when it reloaded, the broker's acknowledgement"""
REVOCATION_REACH_S = REVOCATION_BOUND_S + REVOCATION_SLACK_S


def check_run(files: RunFiles, kafka: KafkaConnection, registry: RegistryConnection) -> dict[str, Any]:
    spec = files.read_spec()
    prefix = spec["prefix"]
    spec["fault_windows"] = [(float(f["t_injected"]), float(f.get("t_restored") or f["t_injected"]))
                             for f in read_lines(files.faults)]
    observed = _observe(kafka, registry, prefix)
    outbox = _json(files.holdings / "outbox.json", {"refused": []})
    stages, handoff = account_stages(read_lines(files.ledger), {r["event_id"]: r["rule"] for r in outbox["refused"]},
                                     observed)
    plans = _plans(spec)
    results: dict[str, Counts] = {}
    received: dict[str, list[tuple[str, float, float]]] = {}
    for party in STREAM_PARTIES:
        held = _held_stream(files, observed, party)
        positions = _positions(kafka, consumer_group(party.subscription, prefix),
                               [canonical_topic(item, prefix) for item in plans[party.subscriber]])
        results[party.subscriber] = _account_stream(party, held, plans[party.subscriber], observed, spec, positions)
        received[party.subscriber] = [(e.get("event_id", ""), t, _published(e)) for e, _k, t in held]
        _write_deliveries(files, party, held)
    results[parties.ARCHIVE.subscriber] = _account_mirror(files, plans[parties.ARCHIVE.subscriber], observed)
    received[parties.ARCHIVE.subscriber] = _audited_deliveries(observed, parties.ARCHIVE)
    results[parties.FEED.subscriber] = _account_feed(files, observed)
    report = {"ok": _ok(stages, results), "stages": _stages_json(stages),
              "subscribers": {name: {"kind": _kind(name), **counts.as_json()} for name, counts in results.items()},
              "latency_ms": latency_summary(received),
              "recovery": recovery_times(files, {n: r for n, r in received.items() if n != parties.HOTEL.subscriber},
                                         handoff, frozenset({parties.HOTEL.subscriber}), drained=bool(spec["drained"])),
              "restarts": read_lines(files.restarts)}
    files.check.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return report


def _positions(kafka: KafkaConnection, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """The committed offsets of ``group`` on ``topics`` now: where its connector stopped reading. Read by a
    consumer of the group that never subscribes (so never joins nor commits): the admin client's OffsetFetch can
    crash the process while a group's coordinator loads (librdkafka #5040)."""
    consumer = clients.commit_reader(kafka, group, "govbus-scenario-check")
    try:
        listed = consumer.list_topics(timeout=15).topics
        wanted = [TopicPartition(t, p) for t in topics if t in listed for p in listed[t].partitions]
        return {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(wanted, timeout=15)
                if tp.offset >= 0}
    finally:
        consumer.close()


def _ok(stages: StageCounts, results: dict[str, Counts]) -> bool:
    zero_stages = stages.lost == stages.duplicated == stages.unexpected == 0
    return zero_stages and all(c.lost == c.duplicated == c.unexpected == c.leaked == 0 for c in results.values())


def _kind(subscriber: str) -> str:
    return next(p.kind for p in parties.PARTIES if p.subscriber == subscriber)


def _stages_json(stages: StageCounts) -> dict[str, Any]:
    return {name: getattr(stages, name) for name in (
        "published", "refused_at_source", "accepted", "found", "canonical", "dead_letter", "lost", "duplicated",
        "unexpected", "stored_again", "examples")}


def _json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def _observe(kafka: KafkaConnection, registry: RegistryConnection, prefix: str) -> Observed:
    owner = {s.item: s.department for s in streams()}
    items = sorted(owner)
    department = [department_topic(owner[i], i, prefix) for i in items]
    department += sorted({d.topic(prefix) for i in items for d in dialects_for(i)[1:]})
    deliveries = {p.subscriber: delivery_topic(p.subscriber, p.subscription, prefix)
                  for p in (parties.BANK, parties.HOTEL)}
    wanted = {p.subscription for p in parties.DECLARED}
    audit = read_audit_matching(kafka, prefix, lambda record: record.subscription in wanted).records
    return read_observed(kafka, registry, department, [canonical_topic(i, prefix) for i in items],
                         [dead_letter_topic(i, prefix) for i in items], deliveries, audit)


def _plans(spec: dict[str, Any]) -> dict[str, dict[str, ItemPlan]]:
    """subscriber -> item -> its plan under the grants as approved (before any revocation)."""
    catalogue = load_catalogue()
    grants = parties.grants()
    now = dt.datetime.fromtimestamp(spec["started_at"], dt.UTC)
    found: dict[str, dict[str, ItemPlan]] = {}
    subscriptions: list[Subscription] = parties.subscriptions("http://127.0.0.1/unused")
    for subscription in subscriptions:
        found[subscription.subscriber] = {request.item: plan_request(request, subscription.subscriber, catalogue,
                                                                     grants, now)
                                          for request in subscription.items}
    return found


def _published(event: dict[str, Any]) -> float:
    value = event.get("published_at")
    return dt.datetime.fromisoformat(value).timestamp() if isinstance(value, str) else 0.0


def _held_stream(files: RunFiles, observed: Observed, party: parties.Party) \
        -> list[tuple[dict[str, Any], bytes | None, float]]:
    """(event as delivered, message key or None, when received) of each delivery to ``party``."""
    if party.kind == "webhook":
        return [(line["event"], None, float(line["t_received"]))
                for line in read_lines(files.delivery_file(party.subscriber)) if "event" in line]
    return observed.delivered.get(party.subscriber, [])


def _audited_deliveries(observed: Observed, party: parties.Party) -> list[tuple[str, float, float]]:
    """(event id, when its delivery was final, published) of each event the audit says ``party`` got: the mirror
    keeps no time per row, its audit record does (written once the row is committed)."""
    published = {e.event_id: e.published_at for e in observed.canonical}
    return [(r.event_id, r.at.timestamp(), published.get(r.event_id, 0.0)) for r in observed.audit
            if r.subscription == party.subscription and r.outcome is Outcome.DELIVERED]


def _write_deliveries(files: RunFiles, party: parties.Party, held: list[tuple[dict[str, Any], bytes | None, float]]
                      ) -> None:
    if party.kind == "webhook":
        return  # the receiver wrote them as they came
    files.deliveries.mkdir(parents=True, exist_ok=True)
    with open(files.delivery_file(party.subscriber), "w", encoding="utf-8") as handle:
        for event, _key, received in held:
            handle.write(json.dumps({"t_received": received, "event_id": event.get("event_id"),
                                     "published_at": _published(event), "item": event.get("item")}) + "\n")


def _owed(plans: dict[str, ItemPlan], observed: Observed) -> dict[str, Event]:
    """The canonical events a subscriber's plans owe it, by event id."""
    return {e.event_id: e for e in observed.canonical
            if e.item in plans and e.record is not None and plans[e.item].matches(e.record)}


def _unread(owed: dict[str, Event], positions: dict[tuple[str, int], int], stopped_reading: float,
            reached: float | None) -> set[str]:
    """The owed events the revoked subscriber's connector never read because the grant ended first: at or past its
    final position (it loses its ACL with the grant) and stored no earlier than the revocation's bound before the
    connector stopped reading. That is the revocation, or the start of a fault the revocation came in (or within
    the bound after): a connector cut off by the fault and then by the revocation had no chance to read what was
    stored just before the fault. An event that waited longer than the bound, with nothing in the way, was not
    read because the connector stalled: lost.

    ``reached`` (when it was still deciding near the end, :func:`_reached`) is the storage time of the newest event
    the connector decided, delivered or refused. A connector that lags behind (a loaded machine) reads in order, so
    what it had not reached when it was cut off counts as withheld however long ago it was stored (see
    :func:`unread_since`)."""
    since = unread_since(stopped_reading, reached)
    return {event_id for event_id, e in owed.items()
            if e.offset >= positions.get((e.topic, e.partition), 0) and e.appended_at >= since}


def unread_since(stopped_reading: float, reached: float | None) -> float:
    """The storage time from which the revoked subscriber's unread events count as withheld, not lost: the bound
    (and slack) before the connector stopped reading, or before the newest event it had reached when it lagged
    further behind than that. An event stored more than the bound before what the connector had reached
    elsewhere, and never read, sat behind a stalled partition: lost."""
    since = stopped_reading - REVOCATION_REACH_S
    return since if reached is None else min(since, reached - REVOCATION_REACH_S)


def interrupted_at(revoked_at: float, fault_windows: list[tuple[float, float]]) -> float:
    """When the revoked subscriber's connector last could read: the revocation, or the injection of a fault whose
    window (from injection to restoration, plus the revocation's bound and slack for the connector to reconnect)
    holds the revocation."""
    return min([revoked_at] + [injected for injected, restored in fault_windows
                               if injected <= revoked_at <= restored + REVOCATION_REACH_S])


def _account_stream(party: parties.Party, held: list[tuple[dict[str, Any], bytes | None, float]],
                    plans: dict[str, ItemPlan], observed: Observed, spec: dict[str, Any],
                    positions: dict[tuple[str, int], int]) -> Counts:
    counts = Counts()
    owed = _owed(plans, observed)
    canonical = {e.event_id: e for e in observed.canonical}
    revoked_at = spec.get("revoked_at") if party is parties.HOTEL else None
    forbidden = {i for i, e in owed.items() if revoked_at is not None and e.published_at >= revoked_at}
    must = set(owed) - forbidden
    times = Counter(str(event.get("event_id")) for event, _key, _t in held)
    in_window: set[str] = set()
    if revoked_at is not None:
        _account_revocation(counts, held, forbidden, revoked_at)
        in_window = {str(event.get("event_id")) for event, _key, received in held
                     if str(event.get("event_id")) in forbidden and received < revoked_at + REVOCATION_BOUND_S}
    counts.expected, counts.held = len(must), len(times)
    counts.redelivered = sum(n - 1 for n in times.values())
    refused = {r.event_id for r in observed.audit if r.subscription == party.subscription
               and r.outcome is Outcome.REFUSED}
    parked = {r.event_id for r in observed.audit if r.subscription == party.subscription
              and r.outcome is Outcome.PARKED}
    windows = [(float(a), float(b)) for a, b in spec.get("fault_windows", [])]
    unread: set[str] = set()
    if revoked_at is not None:
        stopped_reading = interrupted_at(revoked_at, windows)
        unread = _unread(owed, positions, stopped_reading, _reached(held, observed, party, canonical, stopped_reading))
    for event_id in must - set(times):
        if revoked_at is not None and (event_id in refused or event_id in unread):
            counts.withheld_after_revocation += 1
        else:
            counts.lost += 1
            counts.parked += event_id in parked
            counts.note(f"owed, not held{' (parked)' if event_id in parked else ''}: {owed[event_id].item} "
                        f"event {event_id}")
    late = {str(e.get("event_id")) for e, _k, received in held
            if revoked_at is not None and received > revoked_at + REVOCATION_REACH_S}
    for event_id in (set(times) - must - in_window) | late:
        counts.unexpected += 1
        counts.note(f"held, not owed{' (after the revocation)' if event_id in forbidden | late else ''}: event "
                    f"{event_id}")
    counts.duplicated = duplicated_in_effect((str(e.get("event_id")), str(e.get("record_key")), e)
                                             for e, _k, _t in held)
    _count_leaks(counts, held, canonical, plans)
    return counts


def _reached(held: list[tuple[dict[str, Any], bytes | None, float]], observed: Observed, party: parties.Party,
             canonical: dict[str, Event], stopped_reading: float) -> float | None:
    """The storage time of the newest event the connector decided (delivered or refused), if it was still
    deciding within the bound of when it stopped reading; None when it had stalled before that (or decided
    nothing), so that a stalled connector is not excused what it never read."""
    decisions = [(received, str(event.get("event_id"))) for event, _key, received in held]
    decisions += [(record.at.timestamp(), record.event_id) for record in observed.audit
                  if record.subscription == party.subscription and record.outcome is Outcome.REFUSED]
    if not decisions:
        return None
    if max(at for at, _id in decisions) < stopped_reading - REVOCATION_REACH_S:
        return None
    return max((canonical[event_id].appended_at for _at, event_id in decisions if event_id in canonical),
               default=None)


def _account_revocation(counts: Counts, held: list[tuple[dict[str, Any], bytes | None, float]],
                        forbidden: set[str], revoked_at: float) -> None:
    """Events published after the revocation and delivered within the connector's documented bound (it reloads
    grants every REVOCATION_BOUND_S) are counted apart; after the bound, they are unexpected."""
    late = [received - revoked_at for event, _key, received in held if str(event.get("event_id")) in forbidden]
    counts.delivered_in_revocation_window = sum(1 for delay in late if delay < REVOCATION_BOUND_S)
    counts.last_delivery_after_revocation_s = round(max(late, default=0.0), 2)


def _count_leaks(counts: Counts, held: list[tuple[dict[str, Any], bytes | None, float]],
                 canonical: dict[str, Event], plans: dict[str, ItemPlan]) -> None:
    for event, key, _t in held:
        source = canonical.get(str(event.get("event_id")))
        plan = plans.get(str(event.get("item")))
        clear = plan.clear if plan is not None else frozenset()
        found = leaks({"event": event, "key": (key or b"").decode(errors="replace")}, source, clear)
        found += _unplanned(event.get("record"), plan)
        if found:
            counts.leaked += 1
            counts.note(f"leaked {', '.join(found)}: event {event.get('event_id')}")


def _unplanned(record: Any, plan: ItemPlan | None) -> list[str]:
    """Fields a held record carries that the subscriber's plan does not deliver (its grant does not cover them)."""
    if not isinstance(record, dict) or plan is None:
        return []
    return [f"the unplanned field {name}" for name in sorted(set(record) - set(plan.fields))]


def _last_per_key(events: list[Event]) -> dict[tuple[str, str], Event]:
    """The latest event of each (item, key): a key's events share a partition, so offset order is their order."""
    latest: dict[tuple[str, str], Event] = {}
    for event in sorted(events, key=lambda e: (e.topic, e.partition, e.offset)):
        latest[(event.item, event.key)] = event
    return latest


def _account_mirror(files: RunFiles, plans: dict[str, ItemPlan], observed: Observed) -> Counts:
    """The mirror holds one row per key: the last owed state of each key, shaped as planned."""
    counts = Counts()
    tables = _json(files.holdings / f"{parties.ARCHIVE.subscriber}.json", {})
    owed = _last_per_key(list(_owed(plans, observed).values()))
    catalogue = load_catalogue()
    held_keys: set[tuple[str, str]] = set()
    for item, rows in tables.items():
        if item not in plans:
            counts.unexpected += len(rows)
            counts.note(f"a table nobody asked for: {item}")
            continue
        definition = catalogue.get(item)
        for row in rows:
            key = (item, "|".join(str(row.get(f)) for f in definition.key_fields))
            held_keys.add(key)
            counts.held += 1
            _account_row(counts, key, row, owed.get(key), plans[item])
    counts.expected = len(owed)
    for key in set(owed) - held_keys:
        counts.lost += 1
        counts.note(f"owed, no row: {key[0]} event {owed[key].event_id}")
    return counts


def _account_row(counts: Counts, key: tuple[str, str], row: dict[str, Any], event: Event | None,
                 plan: ItemPlan) -> None:
    if event is None or event.record is None:
        counts.unexpected += 1
        counts.note(f"a row nobody published: {key[0]}")
        return
    shaped = jsonable(plan.shape(event.record).record)
    stale = [f for f in plan.fields if isinstance(shaped.get(f), str) and str(row.get(f)) != shaped.get(f)]
    if stale:  # the last change of the key is not what the row says: that change is lost to the mirror
        counts.lost += 1
        counts.note(f"row not at its last state ({', '.join(stale)}): {key[0]} event {event.event_id}")
    found = leaks(row, event, plan.clear) + _unplanned(row, plan)
    if found:
        counts.leaked += 1
        counts.note(f"leaked {', '.join(found)}: {key[0]} event {event.event_id}")


def _account_feed(files: RunFiles, observed: Observed) -> Counts:
    """The feed holds the last state of every key of every item open to the public, with no personal field."""
    counts = Counts()
    catalogue = load_catalogue()
    open_items = {i.name for i in catalogue.items() if i.metadata.open_to_public}
    owed = _last_per_key([e for e in observed.canonical if e.item in open_items])
    canonical = {e.event_id: e for e in observed.canonical}
    entries = _json(files.holdings / f"{parties.FEED.subscriber}.json", [])
    counts.expected, counts.held = len(owed), len(entries)
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        key = (entry["item"], entry["record_key"])
        if key in seen:
            counts.duplicated += 1
        seen.add(key)
        expected = owed.get(key)
        if expected is None:
            counts.unexpected += 1
            counts.note(f"an entry nobody published: {key[0]} {entry['id']}")
        elif expected.event_id != entry["id"]:
            counts.lost += 1
            counts.note(f"entry not at its last state: {key[0]} event {expected.event_id}")
        found = leaks(entry, canonical.get(entry["id"]), ())
        if found:
            counts.leaked += 1
            counts.note(f"leaked {', '.join(found)}: {key[0]} {entry['id']}")
    for key in set(owed) - seen:
        counts.lost += 1
        counts.note(f"owed, no entry: {key[0]} event {owed[key].event_id}")
    return counts
