"""Grants become ACLs, on the session's secured broker: a subscription's connector reads a conditional item
only while a grant its providing department wrote is active; a forged grant or subscription counts for
nothing (the broker refuses it on the party's topic; on the forger's own topic the store ignores it);
`govbus acl sync --dry-run` shows the difference and changes nothing; `govbus run acl` applies a new grant
within seconds."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from govbus import identities
from govbus.connection import KafkaConnection
from govbus.platform.processes import start_process, stop_process
from govbus.sharing import principals
from govbus.sharing.acl_sync import apply, plan
from govbus.sharing.model import Delivery, DeliveryKind, Grant, ItemRequest, Subscription
from govbus.sharing.store import SharingStore
from govbus.topic_names import canonical_topic, grants_topic, subscriptions_topic
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at, produce_key, produce_one, read_first
from testsupport.leftovers import ProcessLedger

PARTIES = ("department:taxation", "department:market-regulation", "subscriber:hz-centre", "subscriber:intruder",
           "connector:hz-one-stop")
DENIED = "TOPIC_AUTHORIZATION_FAILED"


@dataclass
class Bus:
    prefix: str
    admin: KafkaConnection
    parties: dict[str, KafkaConnection]
    passwords: dict[str, str]

    def store(self, key: str) -> SharingStore:
        return SharingStore(self.parties[key], self.prefix)

    def reconcile(self, now: dt.datetime | None = None) -> None:
        """One reconciliation pass (at ``now``: a pass after a grant's expiry without waiting for it)."""
        apply(self.admin, plan(self.admin, self.prefix, now))

    def connector_reads(self, item: str) -> bytes | str:
        return read_first(self.parties["connector:hz-one-stop"], canonical_topic(item, self.prefix), timeout=10)


@pytest.fixture(scope="module")
def bus(kafka_bootstrap: str) -> Iterator[Bus]:
    admin = kafka_at(kafka_bootstrap)
    prefix = f"govbus.acl-{uuid.uuid4().hex[:8]}"
    passwords = {key: secrets.token_urlsafe(16) for key in PARTIES}
    principals.provision(admin, {identities.user_name(key): pw for key, pw in passwords.items()}, [])
    ensure_topics(admin, [TopicSpec(canonical_topic(item, prefix), 1)
                          for item in ("tax_payment_certificate", "enterprise_registration")])
    for item in ("tax_payment_certificate", "enterprise_registration"):
        assert produce_one(admin, canonical_topic(item, prefix), item.encode()) is None
    SharingStore(admin, prefix).register_departments(["taxation", "market-regulation"])
    SharingStore(admin, prefix).register_subscriber("hz-centre")
    SharingStore(admin, prefix).register_subscriber("intruder")
    parties = {key: admin.with_credentials(identities.user_name(key), pw) for key, pw in passwords.items()}
    bus = Bus(prefix, admin, parties, passwords)
    bus.reconcile()  # the registered departments and subscribers may declare now
    bus.store("subscriber:hz-centre").put_subscription(_subscription())
    bus.reconcile()
    yield bus


def _subscription(subscriber: str = "hz-centre") -> Subscription:
    return Subscription(name="hz-one-stop", subscriber=subscriber, items=[
        ItemRequest(item="enterprise_registration", fields=["uscc", "name"]),
        ItemRequest(item="tax_payment_certificate", fields=["certificate_number"])],
        delivery=Delivery(kind=DeliveryKind.WEBHOOK, url="http://127.0.0.1:1/hook", secret_env="HZ_SECRET"))


def _grant(grant_id: str, approved_by: str = "taxation", expires_in: float = 86_400.0) -> Grant:
    return Grant(grant_id=grant_id, subscriber="hz-centre", item="tax_payment_certificate", approved_by=approved_by,
                 purpose="housing purchase checks", fields=["certificate_number"],
                 expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in))


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what} within {timeout} s"
        time.sleep(0.5)
    return time.monotonic() - started


def test_a_grant_opens_and_its_revocation_and_expiry_close_the_connectors_read(bus: Bus) -> None:
    assert bus.connector_reads("enterprise_registration") == b"enterprise_registration", "unconditional: no grant"
    assert bus.connector_reads("tax_payment_certificate") == DENIED, "conditional, no grant yet"

    bus.store("department:taxation").put_grant(_grant("tax-1"))
    bus.reconcile()
    assert bus.connector_reads("tax_payment_certificate") == b"tax_payment_certificate"

    bus.store("department:taxation").put_grant(_grant("tax-1").model_copy(update={"revoked": True}))
    bus.reconcile()
    assert bus.connector_reads("tax_payment_certificate") == DENIED, "revoked"

    bus.store("department:taxation").put_grant(_grant("tax-2", expires_in=3600))
    bus.reconcile()
    assert bus.connector_reads("tax_payment_certificate") == b"tax_payment_certificate"
    bus.reconcile(now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))  # a pass after its expiry
    assert bus.connector_reads("tax_payment_certificate") == DENIED, "expired"
    bus.store("department:taxation").put_grant(_grant("tax-2").model_copy(update={"revoked": True}))
    bus.reconcile()
    assert bus.connector_reads("enterprise_registration") == b"enterprise_registration", "the rest stays"


def _write_own(party: KafkaConnection, topic: str, key: str, value: bytes) -> None:
    """What a party can write on its own control topic, whatever it claims in the record."""
    assert produce_key(party, topic, key, value) is None


def test_forged_grants_and_subscriptions_count_for_nothing(bus: Bus) -> None:
    forger = bus.parties["department:market-regulation"]
    forged = _grant("forged-1").model_dump_json().encode()  # 'approved by taxation'
    assert produce_one(forger, grants_topic("taxation", bus.prefix), forged) == DENIED, "another's grants topic"
    _write_own(forger, grants_topic("market-regulation", bus.prefix), "forged-2",
               _grant("forged-2").model_dump_json().encode())
    intruder = bus.parties["subscriber:intruder"]
    stolen = _subscription().model_copy(update={"delivery": Delivery(
        kind=DeliveryKind.WEBHOOK, url="http://127.0.0.1:2/stolen", secret_env="MINE")})
    assert produce_one(intruder, subscriptions_topic("hz-centre", bus.prefix), stolen.model_dump_json().encode()) \
        == DENIED, "another subscriber's topic"
    _write_own(intruder, subscriptions_topic("intruder", bus.prefix), "hz-one-stop",
               stolen.model_dump_json().encode())  # names hz-centre as its subscriber
    _write_own(forger, grants_topic("market-regulation", bus.prefix), "junk", b"{not a grant")
    bus.store("department:taxation").put_grant(_grant("short-lived"))
    assert produce_key(bus.parties["department:taxation"], grants_topic("taxation", bus.prefix), "short-lived",
                       None) is None  # a tombstone: the grant is gone

    snapshot = SharingStore(bus.admin, bus.prefix).load()  # what the connectors and the reconciler see
    assert "short-lived" not in {grant.grant_id for grant in snapshot.grants.values()}, "a tombstone is honoured"
    assert any("not a grant" in reason for reason in snapshot.refused), "a malformed record is skipped, reported"
    assert not {"forged-1", "forged-2"} & {grant.grant_id for grant in snapshot.grants.values()}
    assert snapshot.subscriptions["hz-one-stop"].subscriber == "hz-centre"
    assert snapshot.subscriptions["hz-one-stop"].delivery.url == "http://127.0.0.1:1/hook"
    assert any("forged-2" in reason and "forged" in reason for reason in snapshot.refused)
    assert any("hz-one-stop" in reason and "(forged)" in reason for reason in snapshot.refused)
    bus.reconcile()
    assert bus.connector_reads("tax_payment_certificate") == DENIED, "a forged grant opens nothing"
    assert bus.connector_reads("enterprise_registration") == b"enterprise_registration", "the real one stays"

    squatter = bus.store("subscriber:intruder")
    squatter.put_subscription(_subscription("intruder"))  # its own topic, a name hz-centre holds
    snapshot = SharingStore(bus.admin, bus.prefix).load()
    assert "hz-one-stop" not in snapshot.subscriptions, "a name declared twice counts for neither"
    assert any("declared by hz-centre, intruder" in reason for reason in snapshot.refused)
    bus.reconcile()
    assert bus.connector_reads("enterprise_registration") == DENIED, "nobody's connector reads for it"
    squatter.remove_subscription(_subscription("intruder"))
    bus.reconcile()
    assert bus.connector_reads("enterprise_registration") == b"enterprise_registration", "hz-centre's again"


def test_dry_run_shows_the_difference_and_the_reconciler_applies_it_within_seconds(bus: Bus, tmp_path: Path) -> None:
    bus.store("department:taxation").put_grant(_grant("tax-3"))
    env = {**os.environ, **bus.admin.as_env(), "GOVBUS_TOPIC_PREFIX": bus.prefix, "COLUMNS": "200"}
    dry = subprocess.run([sys.executable, "-m", "govbus.cli", "acl", "sync", "--dry-run", "--json"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert dry.returncode == 0, dry.stderr
    shown = json.loads(dry.stdout)
    topic = canonical_topic("tax_payment_certificate", bus.prefix)
    assert shown["dry_run"] is True and shown["delete"] == []
    assert f"User:connector.hz-one-stop ALLOW READ TOPIC(LITERAL) {topic}" in shown["add"]
    assert bus.connector_reads("tax_payment_certificate") == DENIED, "a dry run changes nothing"

    ledger = ProcessLedger()
    pid = start_process([sys.executable, "-m", "govbus.cli", "run", "acl"], tmp_path / "acl.log",
                        env={**env, "GOVBUS_ACL_INTERVAL": "1"})
    ledger.add(pid, "govbus.cli run acl")
    try:
        seconds = _wait(lambda: bus.connector_reads("tax_payment_certificate") != DENIED, 30, "the grant applied")
        bus.store("department:taxation").put_grant(_grant("tax-3").model_copy(update={"revoked": True}))
        revoked = _wait(lambda: bus.connector_reads("tax_payment_certificate") == DENIED, 30, "the revocation")
        print(f"grant applied after {seconds:.1f} s, revocation after {revoked:.1f} s")
    finally:
        stop_process(pid)
        ledger.remove(pid)
    log = (tmp_path / "acl.log").read_text()
    assert bus.admin.password is not None and bus.admin.password.get_secret_value() not in log
    assert not any(password in log for password in bus.passwords.values())
