"""Fixtures for the outbox connector: a real PostgreSQL server (session), a migrated database per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from outbox_support import TopicEvent
from pydantic import SecretStr

from connectors.outbox.migrate import migrate
from connectors.outbox.settings import OutboxSettings
from govbus import clients
from govbus.catalogue_topics import sync_topics
from govbus.platform.postgres import PostgresServer, session_postgres
from govbus.serde import WireDecoder
from govbus.topic_names import department_topic
from govbus.topic_reader import read_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import load_catalogue
from testsupport.connections import kafka_at, registry_at


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """GOVBUS_TEST_POSTGRES_DSN, else a private cluster on 127.0.0.1 (stopped by PID at the end)."""
    with session_postgres() as server:
        yield server


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of this test's own (dropped afterwards)."""
    with postgres_server.database(request.node.name) as dsn:
        yield dsn


@pytest.fixture
def outbox_dsn(postgres_dsn: str) -> str:
    """A database of this test's own with the outbox migration applied."""
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        migrate(conn)
    return postgres_dsn


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix of this test's own (GOVBUS_TOPIC_PREFIX for the connector and its Publisher)."""
    return f"govbus.t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def department_topic_of(kafka_bootstrap: str, topic_prefix: str) -> Callable[..., str]:
    """``department_topic_of("enterprise_registration", partitions=1, config={...})`` creates that item's
    topics under this test's prefix (the department topic with ``config``) and returns the department topic."""

    def create(item: str, partitions: int = 3, config: dict[str, str] | None = None) -> str:
        catalogue_item = load_catalogue().get(item)
        topic = department_topic(catalogue_item.department, item, topic_prefix)
        if config:
            ensure_topics(kafka_at(kafka_bootstrap), [TopicSpec(topic, partitions, config)])
        sync_topics(kafka_at(kafka_bootstrap), [catalogue_item], topic_prefix, partitions)
        return topic

    return create


@pytest.fixture
def outbox_settings(outbox_dsn: str, kafka_bootstrap: str, registry_url: str, topic_prefix: str) -> OutboxSettings:
    """Settings for a connector on this test's database, broker, registry and topic prefix."""
    return OutboxSettings(
        outbox_dsn=SecretStr(outbox_dsn), outbox_department="market-regulation",
        outbox_source_system="registration-db", outbox_name="test-outbox", outbox_batch_size=50,
        outbox_poll_interval=0.05, outbox_lag_interval=0, kafka=kafka_at(kafka_bootstrap),
        registry=registry_at(registry_url), topic_prefix=topic_prefix,
    )


@pytest.fixture
def topic_events(kafka_bootstrap: str, registry_url: str) -> Callable[[str], list[TopicEvent]]:
    """``topic_events(topic)``: every message now in ``topic``, decoded, in (partition, offset) order."""
    decoder = WireDecoder(clients.registry_client(registry_at(registry_url)))

    def read(topic: str) -> list[TopicEvent]:
        return [TopicEvent(m.partition() or 0, m.offset() or 0, decoder.decode(m.value()).value)
                for m in read_topic(kafka_at(kafka_bootstrap), topic)]

    return read
