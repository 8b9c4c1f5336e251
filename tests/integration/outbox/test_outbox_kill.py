"""SIGKILL the connector process mid-stream, start it again: no row is lost, duplicates keep their event id."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from confluent_kafka import TopicPartition
from outbox_support import TopicEvent, WrittenRow, insert_upsert, outbox_rows, records, stored_position, wait_for

from connectors.outbox.reader import Position
from connectors.outbox.settings import OutboxSettings
from govbus import clients
from govbus.platform.processes import free_port, is_alive, start_process, stop_process
from testsupport.connections import kafka_at

ROWS = 2_000
PER_TRANSACTION = 50


def _start_connector(settings: OutboxSettings, log_path: Path, argv: list[str]) -> int:
    env = {
        "GOVBUS_OUTBOX_DSN": settings.outbox_dsn.get_secret_value(),
        "GOVBUS_OUTBOX_DEPARTMENT": settings.outbox_department,
        "GOVBUS_OUTBOX_SOURCE_SYSTEM": settings.outbox_source_system,
        "GOVBUS_OUTBOX_NAME": settings.outbox_name,
        "GOVBUS_OUTBOX_BATCH_SIZE": "100",
        "GOVBUS_OUTBOX_POLL_INTERVAL": "0.05",
        "GOVBUS_KAFKA__BOOTSTRAP": settings.kafka.bootstrap,
        "GOVBUS_REGISTRY__URL": settings.registry.url,
        "GOVBUS_TOPIC_PREFIX": settings.topic_prefix,
        "GOVBUS_LOG_LEVEL": "INFO",
    }
    return start_process([sys.executable, *argv], log_path, env)


class Writer(threading.Thread):
    """Inserts ROWS rows in transactions of PER_TRANSACTION, a little apart, while the connector runs."""

    def __init__(self, dsn: str) -> None:
        super().__init__(name="outbox-writer", daemon=True)
        self.dsn = dsn
        self.written: list[WrittenRow] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            pool = records(ROWS, seed=2017)
            with psycopg.connect(self.dsn) as conn:
                for start in range(0, ROWS, PER_TRANSACTION):
                    self.written += [insert_upsert(conn, r) for r in pool[start:start + PER_TRANSACTION]]
                    conn.commit()
                    time.sleep(0.08)
        except BaseException as error:
            self.error = error


def _position_at_least(dsn: str, name: str, rows: int) -> Callable[[], bool]:
    def check() -> bool:
        position = stored_position(dsn, name)
        return position is not None and len([r for r in outbox_rows(dsn) if r.position <= position]) >= rows

    return check


_COVERED = """
SELECT count(*) FROM govbus_outbox o JOIN govbus_outbox_position p ON p.connector = %s
 WHERE (o.txid, o.id) <= (p.last_txid, p.last_id)
"""


def _kill_between_ack_and_store(dsn: str, name: str, bootstrap: str, topic: str, pid: int) -> tuple[int, int]:
    """SIGKILL ``pid`` as soon as the topic holds more messages than the stored position covers (a batch
    acknowledged, its position not yet stored), or after 20 s of missing that window; once it is dead,
    return (messages on the topic, rows the stored position covers)."""
    consumer = clients.consumer(kafka_at(bootstrap), f"watermarks-{uuid.uuid4().hex}")
    partitions = [TopicPartition(topic, p) for p in range(3)]

    def state(conn: psycopg.Connection[Any]) -> tuple[int, int]:
        on_topic = sum(consumer.get_watermark_offsets(tp, timeout=5)[1] for tp in partitions)
        found = conn.execute(_COVERED, (name,)).fetchone()
        return on_topic, int(found[0]) if found else 0

    deadline = time.monotonic() + 20
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while time.monotonic() < deadline:
                on_topic, covered = state(conn)
                if on_topic > covered:
                    break
            os.kill(pid, signal.SIGKILL)
            stop_process(pid)  # reaps it
            assert not is_alive(pid)
            time.sleep(0.5)  # let the broker finish any request it had received
            return state(conn)
    finally:
        consumer.close()


def _scrape_when(port: int, line: str, timeout: float = 30) -> str:
    """The /metrics text once it contains ``line`` (the lag gauge is refreshed after each batch)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except httpx.HTTPError:
            text = ""
        if line in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"/metrics never showed {line!r}; last answer:\n{text}")


def _sample(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} is not in /metrics")


@pytest.mark.slow
def test_sigkill_mid_stream_then_restart_loses_nothing_and_duplicates_keep_their_event_id(
        outbox_dsn: str, outbox_settings: OutboxSettings, department_topic_of: Callable[..., str],
        topic_events: Callable[[str], list[TopicEvent]], tmp_path: Path) -> None:
    topic = department_topic_of("enterprise_registration", partitions=3)
    name = outbox_settings.outbox_name
    started: list[int] = []
    writer = Writer(outbox_dsn)
    try:
        started.append(_start_connector(outbox_settings, tmp_path / "connector-1.log", ["-m", "connectors.outbox"]))
        writer.start()
        wait_for(_position_at_least(outbox_dsn, name, 300), 90, "the first connector to publish 300 rows")
        on_topic, covered = _kill_between_ack_and_store(outbox_dsn, name, outbox_settings.kafka.bootstrap, topic,
                                                        started[0])
        killed_at = stored_position(outbox_dsn, name)
        assert killed_at is not None

        metrics_port = free_port()
        started.append(_start_connector(outbox_settings, tmp_path / "connector-2.log",
                                        ["-m", "govbus.cli", "outbox", "run", "--metrics-port", str(metrics_port)]))
        writer.join(120)
        assert writer.error is None and not writer.is_alive() and len(writer.written) == ROWS
        last = max(r.position for r in writer.written)
        wait_for(lambda: stored_position(outbox_dsn, name) == last, 120, "the second connector to reach the last row")
        metrics = _scrape_when(metrics_port, "govbus_outbox_position_lag_rows{connector=\"test-outbox\"} 0.0")
    finally:
        for pid in started:
            stop_process(pid)
    assert killed_at < last, "the kill did not land mid-stream"
    published_by_second = _sample(metrics, "govbus_outbox_rows_published_total")
    assert published_by_second == ROWS - covered, "the restarted connector published from the stored position on"
    assert _sample(metrics, "govbus_outbox_batch_duration_seconds_count") >= 1
    assert "outbox connector stopped" in (tmp_path / "connector-2.log").read_text()  # SIGTERM: a clean stop

    events = topic_events(topic)
    rows = {r.event_id: r for r in outbox_rows(outbox_dsn)}
    assert len(rows) == ROWS
    published = {e.event_id for e in events}
    assert published == set(rows), f"{len(set(rows) - published)} rows missing, {len(published - set(rows))} unknown"
    first_copy: dict[str, str] = {}
    for event in events:
        first_copy.setdefault(event.record_key, event.event_id)
        assert event.event_id == first_copy[event.record_key], f"a duplicate of {event.record_key} has a new event id"
        assert rows[event.event_id].record_key == event.record_key
    # within a partition, first copies follow the outbox order (txid, id)
    for partition in {e.partition for e in events}:
        seen: set[str] = set()
        firsts: list[Position] = []
        for event in (e for e in events if e.partition == partition):
            if event.event_id not in seen:
                seen.add(event.event_id)
                firsts.append(rows[event.event_id].position)
        assert firsts == sorted(firsts)
    duplicates = len(events) - len(published)
    print(f"\n{len(events)} messages for {ROWS} rows: {duplicates} re-sent after the kill at {killed_at}, "
          f"when the topic held {on_topic} messages and the stored position covered {covered} rows")
    # exactly the rows acknowledged but not yet covered by the stored position were sent twice
    assert duplicates == on_topic - covered
