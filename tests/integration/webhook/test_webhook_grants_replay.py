"""Conditional grants (granted fields only, masked as granted; revocation stops delivery), replay from a
time, and the audit CLI, with the connector and the CLI as real processes."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable

from webhook_support import (
    CanonicalWriter,
    SigningReceiver,
    govbus_cli,
    metric,
    subscription,
    wait_for,
)

from consumers.audit_reader import read_audit
from govbus.audit import Outcome
from govbus.demo.synthetic_items import records_for
from govbus.platform.components import Component
from govbus.platform.processes import free_port
from govbus.sharing.model import Grant
from govbus.sharing.store import SharingStore
from testsupport.connections import kafka_at

TAX = "tax_payment_certificate"
ENTERPRISE = "enterprise_registration"
TAX_FIELDS = ["certificate_number", "taxpayer_name", "taxpayer_resident_id", "amount_cents"]


def _tax_grant(subscriber: str) -> Grant:
    return Grant.model_validate({
        "grant_id": "tax-2026-0042", "subscriber": subscriber, "item": TAX, "approved_by": "taxation",
        "purpose": "housing purchase qualification checks", "fields": [*TAX_FIELDS, "paid_at", "taxpayer_kind"],
        "unmasked": ["taxpayer_name"], "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=30)})


def _publish(writer: CanonicalWriter, item: str, count: int, seed: int) -> dict[str, dict[str, object]]:
    """event id -> record"""
    records = [s.record for s in records_for(writer.catalogue.get(item), count, 0.0, seed=seed)]
    published = {writer.write(item, record): record for record in records}
    writer.flush()
    return published


def test_a_conditional_grant_delivers_granted_fields_masked_as_granted_until_it_is_revoked(
        sharing: SharingStore, canonical: Callable[..., str], writer: CanonicalWriter,
        connectors: Callable[..., Component], secret: str, kafka_bootstrap: str, prefix: str,
        webhook_env: dict[str, str]) -> None:
    canonical(TAX)
    canonical(ENTERPRISE)
    taxes = _publish(writer, TAX, 24, seed=1)
    enterprises = _publish(writer, ENTERPRISE, 4, seed=2)
    individuals = {e for e, r in taxes.items() if r["taxpayer_kind"] == "INDIVIDUAL"}
    assert individuals and individuals != set(taxes)
    with SigningReceiver(secret) as receiver:
        sharing.put_grant(_tax_grant("granted-centre"))
        sharing.put_subscription(subscription(
            "granted", receiver.url, {"item": ENTERPRISE, "fields": ["uscc", "name"]},
            {"item": TAX, "fields": TAX_FIELDS, "filter": {"equals": {"taxpayer_kind": "INDIVIDUAL"}}}))
        port = free_port()
        connector = connectors("granted", port)
        expected = individuals | set(enterprises)
        wait_for(lambda: set(receiver.received.applied) >= expected, 60, "granted events", connector.log_path)
        wait_for(lambda: metric(port, "govbus_webhook_filtered_total", item=TAX) == len(taxes) - len(individuals),
                 10, "filtered count")
        assert set(receiver.received.applied) == expected, "records outside the filter are not sent"
        for event_id in individuals:
            got, original = receiver.received.applied[event_id], taxes[event_id]
            assert set(got["record"]) == set(TAX_FIELDS), "only the requested, granted fields"
            assert got["record"]["taxpayer_name"] == original["taxpayer_name"], "granted unmasked"
            resident_id = str(original["taxpayer_resident_id"])
            assert got["record"]["taxpayer_resident_id"] == resident_id[:6] + "*" * 8 + resident_id[-4:]
            assert got["masked_fields"] == ["taxpayer_resident_id"]
            assert got["record_key"] == original["certificate_number"]

        revoked = govbus_cli("grants", "revoke", "tax-2026-0042", env=webhook_env)
        assert revoked.returncode == 0, revoked.stderr
        wait_for(lambda: "authorisation changed" in connector.log_path.read_text(), 20, "the connector to notice")
        later_taxes = _publish(writer, TAX, 10, seed=3)
        later_enterprises = _publish(writer, ENTERPRISE, 3, seed=4)
        wait_for(lambda: set(receiver.received.applied) >= set(later_enterprises), 30, "unconditional item goes on")
        wait_for(lambda: metric(port, "govbus_webhook_refused_total", item=TAX) == len(later_taxes), 30,
                 "tax events refused")
        assert not set(later_taxes) & set(receiver.received.applied), "no delivery after the revocation"

    audit = {r.event_id: r for r in read_audit(kafka_at(kafka_bootstrap), prefix) if r.subscription == "granted"}
    for event_id in individuals:
        record = audit[event_id]
        assert record.outcome is Outcome.DELIVERED and record.grant_id == "tax-2026-0042"
        assert record.fields_delivered == TAX_FIELDS and record.fields_masked == ["taxpayer_resident_id"]
    for event_id in later_taxes:
        assert audit[event_id].outcome is Outcome.REFUSED and "revoked" in (audit[event_id].reason or "")
        assert not audit[event_id].fields_delivered
    assert not (set(taxes) - individuals) & set(audit), "filtered events are neither sent nor audited"


def test_replay_from_a_time_redelivers_and_the_audit_answers_who_received_what(
        sharing: SharingStore, canonical: Callable[..., str], writer: CanonicalWriter,
        connectors: Callable[..., Component], secret: str, webhook_env: dict[str, str]) -> None:
    canonical(ENTERPRISE, partitions=2)
    first = _publish(writer, ENTERPRISE, 12, seed=5)
    with SigningReceiver(secret) as receiver:
        sharing.put_subscription(subscription("replayed", receiver.url, {"item": ENTERPRISE,
                                                                         "fields": ["uscc", "name", "status"]}))
        connector = connectors("replayed", free_port(), via_cli=True)
        wait_for(lambda: set(receiver.received.applied) == set(first), 60, "first events", connector.log_path)
        time.sleep(1.0)
        middle = dt.datetime.now(dt.UTC)
        time.sleep(1.0)
        second = _publish(writer, ENTERPRISE, 8, seed=6)
        wait_for(lambda: set(receiver.received.applied) == set(first) | set(second), 60, "second events")

        running = govbus_cli("subscriptions", "replay", "replayed", "--from", middle.isoformat(), env=webhook_env)
        assert running.returncode == 1 and "connector is running" in running.stderr, running.stderr
        assert "govbus-webhook-replayed" in running.stderr, "the running member is named"
        connector.stop()

        dry = govbus_cli("subscriptions", "replay", "replayed", "--from", middle.isoformat(), "--dry-run", "--json",
                         env=webhook_env)
        assert dry.returncode == 0, dry.stderr
        plan = json.loads(dry.stdout)
        assert sum(p["events_again"] for p in plan["partitions"]) == len(second) and not plan["applied"]
        replay = govbus_cli("subscriptions", "replay", "replayed", "--from", middle.isoformat(), env=webhook_env)
        assert replay.returncode == 0, replay.stderr
        assert "receivers drop events they already applied" in replay.stderr

        restarted = connectors("replayed", free_port(), via_cli=True)
        wait_for(lambda: all(receiver.received.deliveries[e] == 2 for e in second), 60, "the replay",
                 restarted.log_path)
        time.sleep(1.0)  # nothing before the replay point comes again
        assert all(receiver.received.deliveries[e] == 1 for e in first)
        assert receiver.received.duplicates == len(second), "the receiver dropped every replayed event"
        assert set(receiver.received.applied) == set(first) | set(second)

    key = str(next(iter(second.values()))["uscc"])
    who = govbus_cli("audit", "who-received", ENTERPRISE, key, "--json", env=webhook_env)
    assert who.returncode == 0, who.stderr
    rows = json.loads(who.stdout)
    assert [r["subscriber"] for r in rows] == ["replayed-centre", "replayed-centre"], "delivered, then replayed"
    assert all(r["fields_delivered"] == ["uscc", "name", "status"] and r["record_key"] == key for r in rows)
    table = govbus_cli("audit", "who-received", ENTERPRISE, key, env=webhook_env)
    assert table.returncode == 0 and "replayed-centre" in table.stdout and "uscc, name, status" in table.stdout

    since = govbus_cli("audit", "deliveries", "replayed-centre", "--since", middle.isoformat(), "--json",
                       env=webhook_env)
    assert since.returncode == 0, since.stderr
    after = json.loads(since.stdout)
    assert sorted(r["event_id"] for r in after) == sorted(list(second) * 2)
    assert all(r["outcome"] == "delivered" for r in after)
    everything = json.loads(govbus_cli("audit", "deliveries", "replayed-centre", "--since", "1h", "--json",
                                       env=webhook_env).stdout)
    assert len(everything) == len(first) + 2 * len(second)
    nobody = govbus_cli("audit", "deliveries", "someone-else", "--since", "1h", "--json", env=webhook_env)
    assert json.loads(nobody.stdout) == []
