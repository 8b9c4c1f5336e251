"""A delivery connector's audit chain and the audit index on the real broker and PostgreSQL (issue #11, point 7):
the Kafka delivery connector, given a key, signs and chains its audit records and `govbus audit verify` finds its
chain intact; the audit indexer keeps them in PostgreSQL (a record that does not parse, or holds a NUL, does not stop
it) and `govbus audit who-received` and `deliveries` answer from it (saying so), the same answer as reading the
topic."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from connectors.audit_index.indexer import AuditIndexer
from connectors.audit_index.settings import AuditIndexSettings
from connectors.audit_index.store import AuditIndex
from connectors.kafka_delivery.connector import KafkaDeliveryConnector
from connectors.kafka_delivery.settings import KafkaDeliverySettings
from consumers.audit_reader import read_audit
from govbus import clients
from govbus.audit import audit_topic_spec
from govbus.audit_keys import load_or_create
from govbus.cli import main
from govbus.demo.synthetic_items import records_for
from govbus.platform.postgres import session_postgres
from govbus.sharing.model import Subscription
from govbus.sharing.store import SharingStore
from govbus.topic_names import audit_topic, canonical_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import load_catalogue
from testsupport.canonical import CanonicalWriter, Step
from testsupport.connections import kafka_at, registry_at

ITEM = "enterprise_registration"
CATALOGUE = load_catalogue()


class Runnable(Protocol):
    def run(self) -> None: ...
    def stop(self) -> None: ...


class OnThread:
    """A component on a thread of this process; :meth:`stop` re-raises what ended it."""

    def __init__(self, component: Runnable) -> None:
        self.component = component
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.component.run()
        except BaseException as error:  # handed to the test in stop()
            self.error = error

    def stop(self) -> None:
        self.component.stop()
        self._thread.join(30)
        assert not self._thread.is_alive(), "it did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture(scope="module")
def index_dsn() -> Iterator[str]:
    with session_postgres() as server, server.database("audit_index") as dsn:
        yield dsn


def _until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.2)
    return found


def test_a_connectors_chain_verifies_and_the_index_answers_who_received(
        kafka_bootstrap: str, registry_url: str, index_dsn: str, tmp_path: Path) -> None:
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    kafka = kafka_at(kafka_bootstrap)
    key_file = tmp_path / "audit.key"
    load_or_create(key_file)
    item = CATALOGUE.get(ITEM)
    ensure_topics(kafka, [TopicSpec(canonical_topic(ITEM, prefix), 2), audit_topic_spec(prefix)])
    records = {item.key_of(s.record): s.record for s in records_for(item, 12, 0.0, seed=3)}
    CanonicalWriter(kafka_bootstrap, registry_url, item, canonical_topic(ITEM, prefix)).write(
        [Step("UPSERT", key, record) for key, record in records.items()])
    SharingStore(kafka, prefix).put_subscription(Subscription.model_validate({
        "name": "audited", "subscriber": "audit-centre", "delivery": {"kind": "kafka"},
        "items": [{"item": ITEM, "fields": ["uscc", "name"]}]}))

    connector = OnThread(KafkaDeliveryConnector(KafkaDeliverySettings(
        kafka=kafka, registry=registry_at(registry_url), topic_prefix=prefix, kafka_delivery_subscription="audited",
        kafka_delivery_refresh_seconds=1, kafka_delivery_batch_max_ms=20, audit_key_file=key_file), CATALOGUE))
    try:
        audit = _until(lambda: len(found := read_audit(kafka, prefix)) >= len(records) and found, 30, "the audit")
    finally:
        connector.stop()
    assert {r.record_key for r in audit} == set(records) and len(audit) == len(records)

    env = {"GOVBUS_TOPIC_PREFIX": prefix, "GOVBUS_AUDIT_KEY_FILE": str(key_file)}
    verified = CliRunner().invoke(main, ["audit", "verify", "--json"], env=env)
    assert verified.exit_code == 0, verified.output
    [chain] = json.loads(verified.stdout)["chains"]
    assert (chain["subscription"], chain["connector"], chain["records"], chain["break"]) == (
        "audited", "kafka", len(records), None)

    hostile = audit[0].model_copy(update={"record_key": "91\x00", "link": None}).model_dump_json().encode()
    producer = clients.producer(kafka)
    for value in (b"not json", hostile):  # neither may stop the indexer
        producer.produce(audit_topic(prefix), key=b"audit-centre", value=value)
    assert producer.flush(15) == 0
    indexer = OnThread(AuditIndexer(AuditIndexSettings(
        kafka=kafka, registry=registry_at(registry_url), topic_prefix=prefix,
        audit_index_dsn=SecretStr(index_dsn), audit_index_batch_wait=0.05)))
    index = AuditIndex(index_dsn, audit_topic(prefix))
    try:
        _until(lambda: all(index.who_received(ITEM, key) for key in records) and index.freshness().unparsable == 1
               and index.who_received(ITEM, "91\ufffd"), 30, "the index")
    finally:
        indexer.stop()
        index.close()

    key = sorted(records)[0]
    env |= {"GOVBUS_AUDIT_INDEX_DSN": index_dsn}
    who = CliRunner().invoke(main, ["audit", "who-received", ITEM, key, "--json"], env=env)
    assert who.exit_code == 0, who.output
    assert "answered from the audit index" in who.stderr and "1 audit records do not parse" in who.stderr
    [row] = json.loads(who.stdout)
    assert (row["subscriber"], row["subscription"], row["record_key"], row["fields_delivered"]) == (
        "audit-centre", "audited", key, ["uscc", "name"])
    assert "link" not in row
    scanned = CliRunner().invoke(main, ["audit", "who-received", ITEM, key, "--json"],
                                                 env={**env, "GOVBUS_AUDIT_INDEX_DSN": ""})
    assert "reading the whole audit topic" in scanned.stderr and json.loads(scanned.stdout) == [row]
    deliveries = CliRunner().invoke(main, ["audit", "deliveries", "audit-centre", "--since", "1h",
                                                           "--json"], env=env)
    assert sorted(r["record_key"] for r in json.loads(deliveries.stdout)) == sorted([*records, "91\ufffd"])
