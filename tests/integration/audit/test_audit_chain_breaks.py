"""The audit indexer counts chain breaks as it indexes (govbus_audit_chain_breaks_total{connector}), on the real
broker and PostgreSQL: of three connectors' chains on the audit topic, one intact, one with a record missing and
one with a forged signature, the two broken ones count once each, under their connector, and every record is
still indexed."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from connectors.audit_index.indexer import AuditIndexer
from connectors.audit_index.settings import AuditIndexSettings
from connectors.audit_index.store import AuditIndex
from govbus import clients
from govbus.audit import AuditRecord, Outcome, audit_topic_spec
from govbus.audit_chain import Chain
from govbus.audit_keys import load_or_create, public_file
from govbus.platform.postgres import session_postgres
from govbus.topic_names import audit_topic
from govbus.topics import ensure_topics
from testsupport.connections import kafka_at, registry_at

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def index_dsn() -> Iterator[str]:
    with session_postgres() as server, server.database("audit_chain_breaks") as dsn:
        yield dsn


def _chain(chain: Chain, connector: str, count: int) -> list[bytes]:
    return [chain.seal(AuditRecord(at=T0 + dt.timedelta(seconds=n), subscriber="audit-centre",
                                   subscription=f"sub-{connector}", connector=connector, item="enterprise_registration",
                                   record_key=f"{connector}-{n}", event_id=f"{connector}-e{n}",
                                   outcome=Outcome.DELIVERED).model_dump(mode="json", exclude={"link"}))
            for n in range(count)]


def test_the_indexer_counts_each_broken_chain_under_its_connector(kafka_bootstrap: str, registry_url: str,
                                                                   index_dsn: str, tmp_path: Path) -> None:
    prefix = f"govbus.t-{uuid.uuid4().hex[:10]}"
    kafka = kafka_at(kafka_bootstrap)
    ensure_topics(kafka, [audit_topic_spec(prefix)])
    key_file = tmp_path / "audit.key"
    key = load_or_create(key_file)
    intact = _chain(Chain(key), "postgres", 4)
    gap = _chain(Chain(key), "webhook", 5)
    forged_chain = _chain(Chain(key), "kafka", 3)
    document = json.loads(forged_chain[1])
    document["fields_delivered"] = ["uscc", "resident_id"]  # changed after signing
    written = [*intact, gap[0], gap[1], gap[3], gap[4], forged_chain[0], json.dumps(document).encode(),
               forged_chain[2]]
    producer = clients.producer(kafka)
    for value in written:
        producer.produce(audit_topic(prefix), key=b"audit-centre", value=value, partition=0)
    assert producer.flush(15) == 0

    registry = CollectorRegistry()
    indexer = AuditIndexer(AuditIndexSettings(
        kafka=kafka, registry=registry_at(registry_url), topic_prefix=prefix, audit_index_dsn=SecretStr(index_dsn),
        audit_index_batch_wait=0.05, audit_index_public_keys=(public_file(key_file),)), registry)
    thread = threading.Thread(target=indexer.run, daemon=True)
    thread.start()
    index = AuditIndex(index_dsn, audit_topic(prefix))
    try:
        deadline = time.monotonic() + 30
        while (registry.get_sample_value("govbus_audit_index_records_total") or 0) < len(written):
            assert time.monotonic() < deadline, "the indexer did not index every record"
            time.sleep(0.2)
    finally:
        indexer.stop()
        thread.join(30)
        index.close()
    assert not thread.is_alive()

    def breaks(connector: str) -> float | None:
        return registry.get_sample_value("govbus_audit_chain_breaks_total", {"connector": connector})

    assert (breaks("webhook"), breaks("kafka"), breaks("postgres")) == (1.0, 1.0, None)
