"""Department events read as CloudEvents: every path that publishes to a department topic (the Publisher's
publish, delete, publish_many and prepare/send, which the file loader, the gateway and the outbox use, the HTTP
gateway as a real process, and the walking skeleton's AvroSerializer publisher) writes the CloudEvents attributes
as Kafka headers, and the CloudEvents SDK's Kafka binding reads from each record the same id, source, type, time
and subject as the envelope, and a content type and data schema naming the record's writer schema in the
registry, which answers at that URL.

(Canonical events are checked in every normaliser flow test, profile events in the profile flow test.)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from connectors.ingest_gateway.keys import add_key
from govbus import clients
from govbus.demo.synthetic import enterprise_registrations
from govbus.publisher import Publisher
from govbus.serde import WireDecoder
from govbus.skeleton_publish import enterprise_event, publish_events
from govbus.topic_reader import read_topic
from schemas.catalogue import load_catalogue
from testsupport.cloud_events import check_change_event
from testsupport.connections import kafka_at, registry_at
from testsupport.gateway import running_gateway

ITEM = "enterprise_registration"
OWNER = "market-regulation"
OCCURRED = dt.datetime(2026, 1, 2, 11, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=8)))
"""A change's time with microseconds and another offset: the header says it in UTC, to the millisecond."""


@pytest.fixture
def gateway_url(platform_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The HTTP ingest gateway as a process on the test's topics: (its URL, market regulation's key)."""
    keys_file = tmp_path / "keys.json"
    key = add_key(keys_file, OWNER, "test")
    with running_gateway({**platform_env, "GOVBUS_GATEWAY_KEYS_FILE": str(keys_file)}, tmp_path / "gateway.log") as url:
        yield url, key


def test_every_department_event_reads_as_a_cloud_event_with_the_envelope_s_attributes(
    item_topics: Callable[..., str], kafka_bootstrap: str, registry_url: str, gateway_url: tuple[str, str],
) -> None:
    topic = item_topics(ITEM)
    records = [s.record for s in enterprise_registrations(6, invalid_share=0.0, seed=13)]
    with Publisher(OWNER, "registration-db") as publisher:
        publisher.publish(ITEM, records[0], occurred_at=OCCURRED).result(timeout=30)
        publisher.delete(ITEM, records[1]["uscc"], source_system="archive").result(timeout=30)
        assert all(not isinstance(o, Exception) for o in publisher.publish_many(ITEM, records[2:4]))
        publisher.send(publisher.prepare(ITEM, records[4])).result(timeout=30)
    url, key = gateway_url
    gateway_record = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in records[5].items()}
    response = httpx.post(f"{url}/v1/items/{ITEM}/records", json=gateway_record, timeout=60,
                          headers={"Authorization": f"Bearer {key}", "X-Source-System": "registration-portal"})
    assert response.status_code == 202, response.text
    deleted = httpx.delete(f"{url}/v1/items/{ITEM}/records/{records[0]['uscc']}", headers={"X-API-Key": key},
                           timeout=30)
    assert deleted.status_code == 202, deleted.text
    registry = registry_at(registry_url)
    # the walking skeleton's department, with confluent-kafka's AvroSerializer rather than the Publisher
    skeleton = publish_events(kafka_at(kafka_bootstrap), registry, topic, [enterprise_event(records[1])])
    assert skeleton.delivered == 1

    messages = read_topic(kafka_at(kafka_bootstrap), topic)
    assert len(messages) == 8
    decoder = WireDecoder(clients.registry_client(registry))
    events = [check_change_event(m, decoder.decode(m.value()).value, registry_url) for m in messages]
    seen = {(e.get_source(), e.get_type()) for e in events}
    assert seen == {("/govbus/market-regulation/registration-db", f"gov.govbus.{ITEM}.upsert"),
                    ("/govbus/market-regulation/archive", f"gov.govbus.{ITEM}.delete"),
                    ("/govbus/market-regulation/registration-portal", f"gov.govbus.{ITEM}.upsert"),
                    ("/govbus/market-regulation/ingest-gateway", f"gov.govbus.{ITEM}.delete")}
    times = {dict(m.headers() or [])["ce_time"] for m in messages if m.key() == records[0]["uscc"].encode()}
    assert b"2026-01-02T03:04:05.678Z" in times, times  # the publish's; the gateway's delete is now

    # the schema the content type names is the registry's answer at that URL
    dataschema = events[0].get_dataschema()
    assert dataschema is not None and registry.username and registry.password
    answer = httpx.get(dataschema, auth=(registry.username, registry.password.get_secret_value()), timeout=20)
    assert answer.status_code == 200
    assert json.loads(answer.json()["schema"])["name"] == load_catalogue().get(ITEM).event_name
