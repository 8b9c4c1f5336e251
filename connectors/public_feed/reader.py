"""The feed's consumer: reads the open items' canonical topics from the beginning into the state.

No consumer group and no committed offsets: every start assigns every partition from its first
offset and rebuilds the state from the topics (a restart rebuilds it the same way). The state is
*loaded* once every partition has been read up to the end offset it had at start; until then the
feed answers, with what it has, and ``/healthz`` says ``loaded: false``. Topics or partitions
created later are picked up every ``refresh`` seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from connectors.public_feed.disclosure import public_record
from connectors.public_feed.metrics import FeedMetrics
from connectors.public_feed.state import Entry, FeedState
from govbus import clients
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.exceptions import DecodeError
from govbus.serde import WireDecoder
from govbus.topic_names import canonical_topic

log = logging.getLogger(__name__)


class FeedReader:
    """Runs in a thread of its own (:meth:`start`), until :meth:`stop`."""

    def __init__(self, kafka: KafkaConnection, registry: RegistryConnection, items: Sequence[Any], prefix: str,
                 state: FeedState, metrics: FeedMetrics, refresh: float = 10.0) -> None:
        self._kafka = kafka
        self._items = {canonical_topic(item.name, prefix): item for item in items}
        self._decoder = WireDecoder(clients.registry_client(registry))
        self._state = state
        self._metrics = metrics
        self._refresh = refresh
        self._stop = threading.Event()
        self._loaded = threading.Event()
        self._assigned: set[tuple[str, int]] = set()
        self._targets: dict[tuple[str, int], int] = {}
        self._listed = False
        self._thread = threading.Thread(target=self._run, name="public-feed-reader", daemon=True)

    @property
    def loaded(self) -> bool:
        """Whether every partition was read up to its end offset at start."""
        return self._loaded.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        consumer = clients.consumer(self._kafka, f"govbus-public-feed-{uuid.uuid4()}",
                                    {"enable.auto.commit": False, "enable.partition.eof": False})
        try:
            checked = 0.0
            while not self._stop.is_set():
                if time.monotonic() - checked > (self._refresh if self._listed else 1.0):
                    self._assign_new(consumer)
                    checked = time.monotonic()
                self._apply(consumer.consume(500, 0.5))
                self._check_loaded()
        except Exception:
            log.exception("the feed's reader failed; the feed keeps serving what it has")
            self._metrics.reader_failed.set(1)
            raise
        finally:
            consumer.close()

    def _assign_new(self, consumer: Consumer) -> None:
        """Assign every partition of the items' topics not assigned yet, from its first offset. The first
        time, note each partition's end offset: the state is loaded once they are all read."""
        first = not self._listed
        try:
            new = self._unassigned(consumer, first)
            targets = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10) for tp in new} \
                if first else {}
        except KafkaException as error:
            log.warning("cannot read the topics' partitions yet; trying again", extra={"error": str(error)})
            return
        for place, (low, high) in targets.items():
            if high > low:
                self._targets[place] = high
        self._assigned.update((tp.topic, tp.partition) for tp in new)
        if new:
            consumer.incremental_assign(new)
        self._listed = True

    def _unassigned(self, consumer: Consumer, first: bool) -> list[TopicPartition]:
        metadata = consumer.list_topics(timeout=10).topics
        new: list[TopicPartition] = []
        for topic in self._items:
            found = metadata.get(topic)
            if found is None or found.error is not None:
                if first:
                    log.warning("topic of an open item does not exist yet; served empty until it does",
                                extra={"topic": topic})
                continue
            new += [TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in found.partitions
                    if (topic, partition) not in self._assigned]
        return new

    def _check_loaded(self) -> None:
        if self._listed and not self._loaded.is_set() and not self._targets:
            self._loaded.set()
            self._metrics.loaded.set(1)
            log.info("feed loaded", extra={"entries": self._state.count()})

    def _apply(self, messages: Sequence[Message]) -> None:
        touched: set[str] = set()
        for message in messages:
            if message.error():
                log.warning("consumer error", extra={"error": message.error().str()})
                continue
            item = self._items[message.topic() or ""]
            touched.add(item.name)
            self._apply_one(item, message)
            place = (message.topic() or "", message.partition() or 0)
            target = self._targets.get(place)
            if target is not None and (message.offset() or 0) + 1 >= target:
                del self._targets[place]
        for name in touched:
            self._metrics.entries.labels(item=name).set(self._state.count(name))

    def _apply_one(self, item: Any, message: Message) -> None:
        key = (message.key() or b"").decode("utf-8", errors="replace")
        if message.value() is None:
            self._state.remove(item.name, key)
            self._metrics.events.labels(item=item.name, outcome="delete").inc()
            return
        value = self._decode(message)
        if value is None:
            self._metrics.events.labels(item=item.name, outcome="undecodable").inc()
            return
        if value.get("operation") == "DELETE" or value.get("record") is None:
            self._state.remove(item.name, str(value.get("record_key") or key))
            self._metrics.events.labels(item=item.name, outcome="delete").inc()
            return
        self._state.put(Entry(
            event_id=str(value["event_id"]), item=item.name, key=str(value.get("record_key") or key),
            occurred_at=_aware(value["occurred_at"]), published_at=_aware(value["published_at"]),
            record=public_record(item, value["record"])))
        self._metrics.events.labels(item=item.name, outcome="upsert").inc()

    def _decode(self, message: Message) -> dict[str, Any] | None:
        """The event, or ``None`` if it cannot be decoded; waits while the registry does not answer."""
        while not self._stop.is_set():
            try:
                return self._decoder.decode(message.value()).value
            except DecodeError as error:
                log.error("undecodable event left out of the feed", extra={
                    "topic": message.topic(), "partition": message.partition(), "offset": message.offset(),
                    "error": str(error)})
                return None
            except Exception as error:  # RegistryError, or the registry client's transport failing
                log.warning("schema registry unavailable; retrying", extra={"error": repr(error)})
                self._stop.wait(1.0)
        return None


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
