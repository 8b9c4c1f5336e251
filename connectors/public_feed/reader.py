"""The feed's consumer: reads the open items' canonical topics from the beginning into the state.

It runs on the sink runtime in replay mode (:mod:`consumers.sink`): no consumer group and no committed
offsets; every start assigns every partition from its first offset and rebuilds the state from the topics
(a restart rebuilds it the same way). The state is *loaded* once every partition has been read up to the
end offset it had at start; until then the feed answers, with what it has, and ``/healthz`` says
``loaded: false``. Topics or partitions created later are picked up every ``refresh`` seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Message

from connectors.public_feed.disclosure import public_record
from connectors.public_feed.metrics import FeedMetrics
from connectors.public_feed.state import Entry, FeedState
from consumers.sink import BadMessages, Batch, SinkMetrics, SinkOptions, SinkRuntime
from govbus import clients
from govbus.connection import KafkaConnection, RegistryConnection
from govbus.exceptions import DecodeError
from govbus.serde import WireDecoder
from govbus.sharing.access import FEED_GROUPS
from govbus.topic_names import canonical_topic

log = logging.getLogger(__name__)


class FeedReader:
    """A sink replaying the open items' canonical topics (:mod:`consumers.sink`, replay mode) in a thread of
    its own (:meth:`start`), until :meth:`stop`."""

    def __init__(self, kafka: KafkaConnection, registry: RegistryConnection, items: Sequence[Any], prefix: str,
                 state: FeedState, metrics: FeedMetrics, refresh: float = 10.0) -> None:
        self._items = {canonical_topic(item.name, prefix): item for item in items}
        self._decoder = WireDecoder(clients.registry_client(registry))
        self._state = state
        self._metrics = metrics
        consumer = clients.consumer(kafka, f"{FEED_GROUPS}{uuid.uuid4()}",
                                    {"enable.auto.commit": False, "enable.partition.eof": False})
        options = SinkOptions("public-feed", batch_size=500, batch_wait=0.05, bad_messages=BadMessages.SKIP,
                              lag_interval=0, replay=True, replay_refresh=refresh)
        self._runtime = SinkRuntime(consumer, self, options, SinkMetrics(metrics.registry),
                                    on_caught_up=self._on_loaded)
        self._thread = threading.Thread(target=self._run, name="public-feed-reader", daemon=True)

    @property
    def loaded(self) -> bool:
        """Whether every partition was read up to its end offset at start."""
        return self._runtime.caught_up.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._runtime.stop()
        self._thread.join(timeout)

    def topics(self) -> list[str]:
        return list(self._items)

    def handle(self, batch: Batch) -> None:
        self._apply(batch.messages)

    def _run(self) -> None:
        try:
            self._runtime.run()
        except Exception:
            log.exception("the feed's reader failed; the feed keeps serving what it has")
            self._metrics.reader_failed.set(1)
            raise

    def _on_loaded(self) -> None:
        self._metrics.loaded.set(1)
        log.info("feed loaded", extra={"entries": self._state.count()})

    def _apply(self, messages: Sequence[Message]) -> None:
        touched: set[str] = set()
        for message in messages:
            item = self._items[message.topic() or ""]
            touched.add(item.name)
            self._apply_one(item, message)
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
        while not self._runtime.stopping.is_set():
            try:
                return self._decoder.decode(message.value()).value
            except DecodeError as error:
                log.error("undecodable event left out of the feed", extra={
                    "topic": message.topic(), "partition": message.partition(), "offset": message.offset(),
                    "error": str(error)})
                return None
            except Exception as error:  # RegistryError, or the registry client's transport failing
                log.warning("schema registry unavailable; retrying", extra={"error": repr(error)})
                self._runtime.stopping.wait(1.0)
        return None


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
