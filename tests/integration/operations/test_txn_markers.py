"""Writing a transaction's COMMIT marker as the platform's administrator (govbus.platform.txn_markers), against a
real secured broker: a transaction left open on a partition becomes visible to read_committed readers, as the
hanging-transaction sweep needs for a transaction its coordinator committed but did not mark everywhere."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from govbus import clients
from govbus.exceptions import PlatformError
from govbus.platform import hanging, kafka_tools
from govbus.platform.txn_markers import Marker, write_commit_marker
from govbus.settings import PlatformSettings
from govbus.topics import TopicSpec, ensure_topics
from testsupport.connections import kafka_at


def _open_producer_state(bootstrap: str, config: Path, topic: str) -> dict[str, str]:
    """``kafka-transactions describe-producers`` for partition 0: the producer with an open transaction."""
    output = kafka_tools.run_tool(PlatformSettings(), hanging.TOOL, bootstrap, config, "describe-producers",
                                  "--topic", topic, "--partition", "0", what="kafka-transactions describe-producers")
    open_ones = [row for row in kafka_tools.parse_table(output, "ProducerId", "CurrentTransactionStartOffset")
                 if row["CurrentTransactionStartOffset"] not in ("None", "-1")]
    assert len(open_ones) == 1, output
    return open_ones[0]


def _open_transaction(bootstrap: str, value: bytes) -> tuple[str, Producer]:
    """A new one-partition topic with ``value`` written to it in a transaction left open; the producer."""
    admin = kafka_at(bootstrap)
    topic = f"markers-{uuid.uuid4().hex[:8]}"
    ensure_topics(admin, [TopicSpec(topic, 1)])
    producer = clients.producer(admin, {"transactional.id": f"{topic}-txn", "transaction.timeout.ms": 120_000})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, value=value, partition=0)
    assert producer.flush(30) == 0
    return topic, producer


def _read_committed(bootstrap: str, topic: str, seconds: float) -> list[bytes]:
    reader = clients.consumer(kafka_at(bootstrap), f"markers-{uuid.uuid4().hex}", {"auto.offset.reset": "earliest"})
    reader.subscribe([topic])
    values = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
    finally:
        reader.close()
    return values


def test_a_commit_marker_written_for_an_open_transaction_makes_its_record_visible(kafka_bootstrap: str,
                                                                                  tmp_path: Path) -> None:
    admin = kafka_at(kafka_bootstrap)
    topic, _producer = _open_transaction(kafka_bootstrap, b"kept")
    assert _read_committed(kafka_bootstrap, topic, 4) == [], "an open transaction is not visible"

    state = _open_producer_state(kafka_bootstrap, kafka_tools.tool_properties(admin, tmp_path), topic)
    marker = Marker(int(state["ProducerId"]), int(state["ProducerEpoch"]), int(state["LatestCoordinatorEpoch"]),
                    topic, 0)
    write_commit_marker(admin, kafka_bootstrap, marker)

    assert _read_committed(kafka_bootstrap, topic, 8) == [b"kept"]


def test_a_stale_producer_epoch_is_refused(kafka_bootstrap: str, tmp_path: Path) -> None:
    admin = kafka_at(kafka_bootstrap)
    topic, producer = _open_transaction(kafka_bootstrap, b"x")
    state = _open_producer_state(kafka_bootstrap, kafka_tools.tool_properties(admin, tmp_path), topic)
    stale = Marker(int(state["ProducerId"]), int(state["ProducerEpoch"]) - 1, int(state["LatestCoordinatorEpoch"]),
                   topic, 0)
    with pytest.raises(PlatformError, match="refused the commit marker"):
        write_commit_marker(admin, kafka_bootstrap, stale)
    producer.abort_transaction(30)
