"""A producer's first batch on a partition that never reaches the broker must not be reported stored.

librdkafka's idempotent producer, with several requests in flight, takes a later batch's success as proof that an
earlier batch whose outcome it did not learn was stored (it acknowledges that batch's records "implicitly"). The
broker proves no such thing for a producer it does not yet know on the partition: it accepts that producer's
first batch at any sequence number. So the earlier batch's records are reported stored and are not on the topic
(confluent-kafka-go #921, open; docs/scenario/README.md, "What the fault runs found"). A restarted single broker
made that happen in the broker-kill scenario. The bus's producers (``govbus.clients.kafka.SAFE_PRODUCER``) keep
one request in flight per connection, so no later batch can overtake a lost one.

Here a proxy in front of a real broker swallows a producer's first Produce request, the way a broker that went
away before reading it would; the records are then counted: acknowledged, and on the topic.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Message
from confluent_kafka.admin import NewTopic

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.platform import jars, kafka, processes
from govbus.settings import PlatformSettings
from testsupport.dropping_proxy import DroppingProxy
from testsupport.leftovers import ProcessLedger

RECORDS = 8
REQUEST_TIMEOUT_MS = 5000
"""the client gives up on an unanswered request after this (librdkafka's socket.timeout.ms), and sends it again"""


@dataclass(frozen=True)
class ProxiedBroker:
    proxy: DroppingProxy
    connection: KafkaConnection
    """through the proxy: the broker advertises the proxy's port"""


@pytest.fixture(scope="module")
def proxied_broker() -> Iterator[ProxiedBroker]:
    """A plaintext KRaft node of its own whose clients reach it only through a :class:`DroppingProxy`."""
    settings = PlatformSettings()
    data_dir = Path(tempfile.mkdtemp(prefix="govbus-kafka-proxied-"))
    config = kafka.KafkaNodeConfig(data_dir=data_dir, libs=jars.kafka_libs(settings.cache_dir, settings.kafka_version),
                                   port=processes.free_port(), controller_port=processes.free_port(),
                                   heap=settings.kafka_heap)
    proxy = DroppingProxy(upstream_port=config.port)
    properties = kafka.prepare(config)
    properties.write_text(properties.read_text().replace(f"advertised.listeners=PLAINTEXT://127.0.0.1:{config.port}",
                                                         f"advertised.listeners=PLAINTEXT://127.0.0.1:{proxy.port}"))
    pid = processes.start_process(kafka.java_argv(config, "kafka.Kafka", str(properties)), data_dir / "kafka.out")
    ledger = ProcessLedger()
    ledger.add(pid, "kafka.Kafka", data_dir)
    through_proxy = KafkaConnection(bootstrap=f"127.0.0.1:{proxy.port}")
    try:
        processes.wait_until(lambda: kafka.metadata_ready(through_proxy.bootstrap), settings.startup_timeout,
                             "the proxied Kafka broker", alive=lambda: processes.is_alive(pid),
                             log_path=data_dir / "kafka-server.log")
        yield ProxiedBroker(proxy=proxy, connection=through_proxy)
    finally:
        proxy.close()
        processes.stop_process(pid, timeout=30)
        ledger.remove(pid)
        shutil.rmtree(data_dir, ignore_errors=True)


@dataclass(frozen=True)
class Outcome:
    reported: set[str]
    """the values the delivery reports called stored"""
    stored: set[str]
    """the values on the topic"""
    fatal: KafkaError | None
    """the producer's fatal error, if it had one"""


def _publish_with_first_request_swallowed(broker: ProxiedBroker, in_flight: int | None) -> Outcome:
    """Records ``0..RECORDS-1`` to partition 0 of a new topic, each its own request, the first request swallowed."""
    topic = f"first-batch-{uuid.uuid4().hex[:8]}"
    admin = clients.admin(broker.connection)
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
    options: dict[str, object] = {"linger.ms": 0, "socket.timeout.ms": REQUEST_TIMEOUT_MS}
    if in_flight is not None:
        options["max.in.flight.requests.per.connection"] = in_flight
    producer = clients.producer(broker.connection, options)
    reported: set[str] = set()

    def delivered(error: object, message: Message) -> None:
        if error is None:
            reported.add(message.value().decode())

    # the producer id and the connection before arming, on the other partition: on partition 0 the producer is new
    producer.produce(topic, value=b"warm-up", partition=1)
    assert producer.flush(30) == 0
    reported.clear()
    broker.proxy.arm()
    fatal: KafkaError | None = None
    try:
        for number in range(RECORDS):
            producer.produce(topic, value=str(number).encode(), partition=0, on_delivery=delivered)
            producer.poll(0.05)  # each record its own request, the later ones sent while the first is outstanding
        producer.flush(60)
    except KafkaException as error:
        fatal = error.args[0]
    return Outcome(reported, _values(broker.connection, topic) - {"warm-up"}, fatal)


def _values(connection: KafkaConnection, topic: str) -> set[str]:
    reader = clients.consumer(connection, f"check-{uuid.uuid4().hex}", {"auto.offset.reset": "earliest"})
    reader.subscribe([topic])
    values: set[str] = set()
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline and len(values) < RECORDS + 1:  # the warm-up too
            message = reader.poll(0.5)
            if message is not None and message.error() is None:
                values.add(message.value().decode())
    finally:
        reader.close()
    return values


def test_the_bus_producers_lose_nothing_when_a_first_request_never_reaches_the_broker(
        proxied_broker: ProxiedBroker) -> None:
    outcome = _publish_with_first_request_swallowed(proxied_broker, in_flight=None)
    assert proxied_broker.proxy.dropped >= 1
    assert outcome.fatal is None, outcome.fatal
    sent = {str(number) for number in range(RECORDS)}
    lost = outcome.reported - outcome.stored
    assert (len(outcome.reported), len(lost), len(outcome.stored - sent)) == (RECORDS, 0, 0), sorted(lost)


def test_with_five_requests_in_flight_the_broker_stores_the_later_batches_without_the_first(
        proxied_broker: ProxiedBroker) -> None:
    """The condition librdkafka's implicit acknowledgement assumes away, on the same broker: the requests behind the
    swallowed one are stored without it, the broker taking the new producer's batches from sequence 1 on. Here
    librdkafka learns it when the first request times out and its retry is refused (a fatal error, nothing reported
    stored that is not); had that request failed before the later ones were answered (a broker restarting), their
    success would have marked its records delivered. Were this to start failing (a broker that refuses a first
    batch at a later sequence), one request in flight may no longer be needed."""
    dropped_before = proxied_broker.proxy.dropped
    outcome = _publish_with_first_request_swallowed(proxied_broker, in_flight=5)
    assert proxied_broker.proxy.dropped == dropped_before + 1
    assert "0" not in outcome.stored and {str(n) for n in range(1, RECORDS)} <= outcome.stored, sorted(outcome.stored)
    assert outcome.fatal is not None and outcome.fatal.code() == KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER
