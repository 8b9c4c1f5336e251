"""What the Kafka delivery tests share: canonical writers, a subscriber's reader of a delivery topic, and the
connector on a thread of the test process."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Message

from connectors.kafka_delivery.connector import KafkaDeliveryConnector
from govbus import clients
from govbus.connection import KafkaConnection
from govbus.demo.synthetic_items import records_for
from govbus.topic_names import canonical_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import load_catalogue
from testsupport.canonical import CanonicalWriter, Step
from testsupport.connections import kafka_at

TAX = "tax_payment_certificate"
ENTERPRISE = "enterprise_registration"
CATALOGUE = load_catalogue()


class Writers:
    """Canonical change events of the two items, as the normaliser would write them."""

    def __init__(self, bootstrap: str, registry_url: str, prefix: str) -> None:
        self.items = {name: CATALOGUE.get(name) for name in (TAX, ENTERPRISE)}
        for name, partitions in ((TAX, 3), (ENTERPRISE, 2)):
            ensure_topics(kafka_at(bootstrap), [TopicSpec(canonical_topic(name, prefix), partitions)])
        self._writers = {name: CanonicalWriter(bootstrap, registry_url, item, canonical_topic(name, prefix))
                         for name, item in self.items.items()}

    def upserts(self, item: str, count: int, seed: int) -> dict[str, dict[str, Any]]:
        """Publish ``count`` new records of ``item``; record key -> record."""
        definition = self.items[item]
        records = {definition.key_of(s.record): s.record for s in records_for(definition, count, 0.0, seed=seed)}
        assert len(records) == count, "every record has its own key"
        self._writers[item].write([Step("UPSERT", key, record) for key, record in records.items()])
        return records

    def deletes(self, item: str, keys: list[str]) -> None:
        self._writers[item].write([Step("DELETE", key) for key in keys])


class Reader:
    """A subscriber's plain consumer of the delivery topic (what its own Kafka client would do), once the
    connector created it."""

    def __init__(self, bootstrap: str, topic: str, as_principal: KafkaConnection | None = None,
                 group: str | None = None) -> None:
        deadline = time.monotonic() + 20
        while topic not in clients.admin(kafka_at(bootstrap)).list_topics(timeout=10).topics:
            assert time.monotonic() < deadline, f"{topic} was not created"
            time.sleep(0.2)
        self._consumer: Consumer = clients.consumer(as_principal or kafka_at(bootstrap),
                                                    group or f"reader-{uuid.uuid4().hex[:8]}",
                                                    {"auto.offset.reset": "earliest", "enable.auto.commit": False})
        self._consumer.subscribe([topic])
        self.messages: list[Message] = []

    def read_until(self, condition: Callable[[list[Message]], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self.messages):
            assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
            self.read_for(0.5)

    def read_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            for message in self._consumer.consume(500, min(left, 0.5)):
                assert message.error() is None, message.error()
                self.messages.append(message)

    def close(self) -> None:
        self._consumer.close()


class Running:
    """The connector on a thread of this process; :meth:`stop` re-raises what ended it."""

    def __init__(self, connector: KafkaDeliveryConnector) -> None:
        self.connector = connector
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kafka-delivery", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.connector.run()
        except BaseException as error:  # handed to the test in stop()
            self.error = error

    def ended(self, timeout: float) -> BaseException | None:
        """Wait until the connector stops by itself; what stopped it."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the connector still runs after {timeout:.0f} s"
        error, self.error = self.error, None
        return error

    def stop(self) -> None:
        self.connector.stop()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the connector did not stop"
        if self.error is not None:
            raise self.error
