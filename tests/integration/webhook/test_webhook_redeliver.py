"""Parked events hold what the subscriber was to receive, and ``govbus subscriptions redeliver NAME`` sends them
again, each once (issue #11, point 4).

Identity records (the resident id is the key and a masked field) go to a receiver that answers 500: after one
attempt they are parked. The parked topic holds the shaped events (the id masked, the key a pseudonym), no clear
resident id anywhere. Once the receiver is healthy, a dry run sends nothing; a run delivers each parked event
exactly once, audited ``delivered`` under its clear key; a second run sends nothing.

Degree certificates parked beside them lose their grant before the redelivery (the department revokes it): they
are skipped, audited ``refused`` with the reason, never sent, and not offered again."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import httpx
from webhook_support import Behaviour, CanonicalWriter, SigningReceiver, govbus_cli, metric, subscription, wait_for

from consumers.audit_reader import read_audit
from govbus.audit import Outcome
from govbus.demo.synthetic_items import records_for
from govbus.platform.components import Component
from govbus.platform.processes import free_port
from govbus.sharing.model import Grant
from govbus.sharing.store import SharingStore
from govbus.topic_names import parked_topic
from govbus.topic_reader import read_topic
from testsupport.connections import kafka_at

ITEM = "identity_verification"
FIELDS = ["resident_id", "name", "gender", "card_status"]
NAME = "parker"
PEOPLE = 5
REVOKED_ITEM = "degree_certification"
REVOKED_FIELDS = ["certificate_number", "institution_name", "major"]
DEGREES = 3


def _parked(port: int) -> float:
    """The connector's parked count; -1 until its metrics answer."""
    try:
        return metric(port, "govbus_webhook_parked_total")
    except httpx.HTTPError:
        return -1


def _redeliver(env: dict[str, str], *flags: str) -> dict[str, object]:
    done = govbus_cli("subscriptions", "redeliver", NAME, "--json", *flags, env=env)
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_parked_events_are_shaped_and_redelivered_once(
        sharing: SharingStore, canonical: Callable[..., str], writer: CanonicalWriter,
        connectors: Callable[..., Component], secret: str, kafka_bootstrap: str, prefix: str,
        webhook_env: dict[str, str]) -> None:
    canonical(ITEM, partitions=2)
    canonical(REVOKED_ITEM, partitions=1)
    people = [s.record for s in records_for(writer.catalogue.get(ITEM), PEOPLE, 0.0, seed=21)]
    events = {writer.write(ITEM, {**p, "card_status": "VALID"}) for p in people}
    degrees = {writer.write(REVOKED_ITEM, s.record)
               for s in records_for(writer.catalogue.get(REVOKED_ITEM), DEGREES, 0.0, seed=22)}
    writer.flush()
    ids = [p["resident_id"] for p in people]
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    sharing.put_grant(Grant(grant_id=f"{NAME}-id", subscriber=f"{NAME}-centre", item=ITEM,
                            approved_by="public-security", purpose="identity checks at the service counter",
                            fields=FIELDS, unmasked=[], expires_at=expires))
    degree_grant = Grant(grant_id=f"{NAME}-degrees", subscriber=f"{NAME}-centre", item=REVOKED_ITEM,
                         approved_by="education", purpose="checking qualifications", fields=REVOKED_FIELDS,
                         unmasked=[], expires_at=expires)
    sharing.put_grant(degree_grant)
    with SigningReceiver(secret, Behaviour(status=500)) as receiver:
        sharing.put_subscription(subscription(NAME, receiver.url, {"item": ITEM, "fields": FIELDS},
                                              {"item": REVOKED_ITEM, "fields": REVOKED_FIELDS}))
        port = free_port()
        connector = connectors(NAME, port, GOVBUS_WEBHOOK_MAX_ATTEMPTS="1")
        wait_for(lambda: _parked(port) == PEOPLE + DEGREES, 30, "every event parked",
                 connector.log_path)
        connector.stop(timeout=15)
        sharing.put_grant(degree_grant.model_copy(update={"revoked": True}))  # education withdraws it

        parked = [m for m in read_topic(kafka_at(kafka_bootstrap), parked_topic(NAME, prefix))
                  if json.loads(m.value())["item"] == ITEM]
        assert len(parked) == PEOPLE
        for message in parked:
            headers = {k: (v or b"").decode() for k, v in message.headers() or []}
            body = json.loads(message.value())
            assert headers["govbus.parked.content"] == "shaped" and body["event_id"] in events
            assert body["record"]["resident_id"][6:14] == "********", "the masked field is masked"
            assert (message.key() or b"").decode() == body["record_key"] and body["record_key"].startswith("hmac")
        everything = b"".join((m.key() or b"") + (m.value() or b"") for m in parked)
        assert not any(i.encode() in everything for i in ids), "no clear resident id in the parked topic"

        receiver.behaviour.status = None  # the receiver is healthy again
        before = len(receiver.received.requests)
        dry = _redeliver(webhook_env, "--dry-run")
        assert dry["redelivered"] == PEOPLE and dry["skipped"] == DEGREES and dry["failed"] == 0
        assert len(receiver.received.requests) == before, "a dry run sends nothing"

        first = _redeliver(webhook_env)
        assert first["redelivered"] == PEOPLE and first["skipped"] == DEGREES and first["failed"] == 0
        second = _redeliver(webhook_env)
        assert second["redelivered"] == 0 and second["skipped"] == 0, "each parked event is offered once"
        deliveries = receiver.received.deliveries
        lost, duplicated = len(events - set(deliveries)), sum(n - 1 for n in deliveries.values())
        unexpected = set(deliveries) - events
        assert (lost, duplicated, len(unexpected)) == (0, 0, 0), "no revoked item's event was sent"
        assert receiver.received.bad_signatures == 0
        assert all(e["record"]["resident_id"][6:14] == "********" for e in receiver.received.applied.values())
    records = [r for r in read_audit(kafka_at(kafka_bootstrap), prefix) if r.subscription == NAME]
    audit = [r for r in records if r.outcome is Outcome.DELIVERED]
    assert {r.event_id for r in audit} == events and len(audit) == PEOPLE
    assert sorted(r.record_key for r in audit) == sorted(ids), "audited under the clear key"
    refused = [r for r in records if r.outcome is Outcome.REFUSED and r.connector == "webhook-redeliver"]
    assert {r.event_id for r in refused} == degrees and len(refused) == DEGREES
    assert all(r.reason and r.reason.startswith("not redelivered:") and not r.fields_delivered for r in refused)
    print(json.dumps({"parked": len(parked), "redelivered": first["redelivered"], "skipped": first["skipped"],
                      "lost": lost, "duplicated": duplicated, "unexpected": len(unexpected),
                      "second_run": second["redelivered"]}))
