"""Parked events hold what the subscriber was to receive, and ``govbus subscriptions redeliver NAME`` sends them
again, each once (issue #11, point 4).

Identity records (the resident id is the key and a masked field) go to a receiver that answers 500: after one
attempt they are parked. The parked topic holds the shaped events (the id masked, the key a pseudonym), no clear
resident id anywhere. Once the receiver is healthy, a dry run sends nothing; a run delivers each parked event
exactly once, audited ``delivered`` under its clear key; a second run sends nothing."""

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
    people = [s.record for s in records_for(writer.catalogue.get(ITEM), PEOPLE, 0.0, seed=21)]
    events = {writer.write(ITEM, {**p, "card_status": "VALID"}) for p in people}
    writer.flush()
    ids = [p["resident_id"] for p in people]
    sharing.put_grant(Grant(grant_id=f"{NAME}-id", subscriber=f"{NAME}-centre", item=ITEM,
                            approved_by="public-security", purpose="identity checks at the service counter",
                            fields=FIELDS, unmasked=[], expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30)))
    with SigningReceiver(secret, Behaviour(status=500)) as receiver:
        sharing.put_subscription(subscription(NAME, receiver.url, {"item": ITEM, "fields": FIELDS}))
        port = free_port()
        connector = connectors(NAME, port, GOVBUS_WEBHOOK_MAX_ATTEMPTS="1")
        wait_for(lambda: _parked(port) == PEOPLE, 30, "every event parked",
                 connector.log_path)
        connector.stop(timeout=15)

        parked = read_topic(kafka_at(kafka_bootstrap), parked_topic(NAME, prefix))
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
        assert dry["redelivered"] == PEOPLE and dry["skipped"] == 0 and dry["failed"] == 0
        assert len(receiver.received.requests) == before, "a dry run sends nothing"

        first = _redeliver(webhook_env)
        assert first["redelivered"] == PEOPLE and first["failed"] == 0
        second = _redeliver(webhook_env)
        assert second["redelivered"] == 0, "each parked event is redelivered once"
        deliveries = receiver.received.deliveries
        lost, duplicated = len(events - set(deliveries)), sum(n - 1 for n in deliveries.values())
        assert (lost, duplicated) == (0, 0) and set(deliveries) == events
        assert receiver.received.bad_signatures == 0
        assert all(e["record"]["resident_id"][6:14] == "********" for e in receiver.received.applied.values())
    audit = [r for r in read_audit(kafka_at(kafka_bootstrap), prefix)
             if r.subscription == NAME and r.outcome is Outcome.DELIVERED]
    assert {r.event_id for r in audit} == events and len(audit) == PEOPLE
    assert sorted(r.record_key for r in audit) == sorted(ids), "audited under the clear key"
    print(json.dumps({"parked": len(parked), "redelivered": first["redelivered"], "lost": lost,
                      "duplicated": duplicated, "second_run": second["redelivered"]}))
