"""Failures the connector retries: Kafka refusing a batch, PostgreSQL dropping the connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)
from outbox_support import TopicEvent, insert_upsert, outbox_rows, records, running, stored_position, wait_for
from prometheus_client import CollectorRegistry

from connectors.outbox.connector import OutboxConnector
from connectors.outbox.metrics import OutboxMetrics
from connectors.outbox.settings import OutboxSettings
from govbus import clients
from testsupport.connections import kafka_at


def _fast_retries(settings: OutboxSettings) -> OutboxSettings:
    return settings.model_copy(update={"outbox_retry_initial_seconds": 0.1, "outbox_retry_max_seconds": 0.5,
                                       "outbox_flush_timeout": 10.0})


def _failed_batches(registry: CollectorRegistry, name: str) -> float:
    return sum(sample.value for metric in registry.collect() if metric.name == "govbus_outbox_failed_batches"
               for sample in metric.samples if sample.name.endswith("_total") and sample.labels["connector"] == name)


def _set_max_message_bytes(bootstrap: str, topic: str, value: int) -> None:
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("max.message.bytes", str(value), incremental_operation=AlterConfigOpType.SET)])
    admin = clients.admin(kafka_at(bootstrap))  # kept alive until the futures resolve
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(30)


def test_a_batch_kafka_refuses_keeps_the_position_and_is_sent_again_once_kafka_accepts(
        outbox_dsn: str, outbox_settings: OutboxSettings, department_topic_of: Callable[..., str],
        topic_events: Callable[[str], list[TopicEvent]], kafka_bootstrap: str) -> None:
    topic = department_topic_of("enterprise_registration", partitions=1, config={"max.message.bytes": "64"})
    settings = _fast_retries(outbox_settings)
    registry = CollectorRegistry()
    with psycopg.connect(outbox_dsn) as conn:
        for record in records(30, seed=51):
            insert_upsert(conn, record)
        conn.commit()
    threads_before = {t.ident for t in threading.enumerate()}
    with running(OutboxConnector(settings, OutboxMetrics(registry, settings.outbox_name))):
        wait_for(lambda: _failed_batches(registry, settings.outbox_name) >= 3, 60, "three refused attempts")
        assert stored_position(outbox_dsn, settings.outbox_name) is None  # nothing acknowledged: nothing stored
        assert topic_events(topic) == []
        _set_max_message_bytes(kafka_bootstrap, topic, 1_048_588)
        last = outbox_rows(outbox_dsn)[-1].position
        wait_for(lambda: stored_position(outbox_dsn, settings.outbox_name) == last, 60, "the retried batches")
    events = topic_events(topic)
    assert [e.event_id for e in events] == [r.event_id for r in outbox_rows(outbox_dsn)]
    # every Publisher the failures made the connector replace was closed (its report thread ended)
    wait_for(lambda: not [t for t in threading.enumerate() if t.ident not in threads_before], 15,
             "the replaced publishers' threads to end")


def test_lost_database_connections_are_retried_without_losing_rows(
        outbox_dsn: str, outbox_settings: OutboxSettings, department_topic_of: Callable[..., str],
        topic_events: Callable[[str], list[TopicEvent]]) -> None:
    topic = department_topic_of("enterprise_registration", partitions=2)
    settings = _fast_retries(outbox_settings)
    registry = CollectorRegistry()
    pool = records(600, seed=61)
    done = threading.Event()
    killed = 0

    def terminate_connector_sessions() -> None:
        nonlocal killed
        with psycopg.connect(outbox_dsn, autocommit=True) as admin:
            while not done.is_set():
                found = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE application_name LIKE 'govbus-outbox:%%'").fetchone()
                killed += int(found[0]) if found else 0
                time.sleep(0.15)

    with running(OutboxConnector(settings, OutboxMetrics(registry, settings.outbox_name))):
        terminator = threading.Thread(target=terminate_connector_sessions, daemon=True)
        terminator.start()
        with psycopg.connect(outbox_dsn) as conn:
            for start in range(0, len(pool), 20):
                for record in pool[start:start + 20]:
                    insert_upsert(conn, record)
                conn.commit()
                time.sleep(0.02)
        time.sleep(0.5)
        done.set()
        terminator.join(10)
        last = outbox_rows(outbox_dsn)[-1].position
        wait_for(lambda: stored_position(outbox_dsn, settings.outbox_name) == last, 60, "the connector to catch up")
    assert killed >= 3, f"only {killed} connector sessions were terminated"
    assert _failed_batches(registry, settings.outbox_name) >= 1
    rows = {r.event_id: r.record_key for r in outbox_rows(outbox_dsn)}
    events = topic_events(topic)
    assert {e.event_id for e in events} == set(rows)
    assert all(rows[e.event_id] == e.record_key for e in events)
