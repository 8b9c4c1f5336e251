"""The Kafka delivery connector: one subscription's events, filtered and masked, written to its own topic.

For a subscription with ``delivery.kind: kafka``, one process in the consumer group
``consumer_group(name, prefix)`` reads the source topics of the subscription's items (canonical
topics, profile topics) on the sink runtime (:mod:`consumers.sink`) and, batch by batch:

1. **decides** each event exactly as the webhook does (:mod:`connectors.webhook.entries`, with the
   authorisation reloaded every few seconds by :class:`connectors.webhook.plans.Authoriser`): an item
   without a plan now is refused (audited ``refused``), a record outside the filter is dropped
   (counted), an undecodable one is parked by the runtime (audited ``parked``), the rest are shaped:
   planned fields only, personal ones masked;
2. **writes** the shaped events to ``delivery_topic(subscriber, name, prefix)``
   (:mod:`connectors.kafka_delivery.messages`)
   with the idempotent producer and waits until the broker acknowledged each one; what failed is written
   again after a backoff, with the partitions paused and the authorisation checked again first, until it
   succeeds or the connector is stopped (then nothing of the batch is committed);
3. **audits** each event's final outcome (:mod:`govbus.audit`), and the runtime commits the batch's
   offsets once those audit records are acknowledged.

Delivery is at least once: a crash between the write and the commit writes those events again, and
the subscriber drops repeats by the ``govbus.event_id`` header. (A transactional producer would make
it exactly once, but the sink runtime commits offsets through the consumer and parks undecodable
records outside any transaction, so the connector does not use one.)
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message
from prometheus_client import CollectorRegistry

from connectors.kafka_delivery.messages import DeliveryMessage, delivery_message, delivery_partitions
from connectors.kafka_delivery.metrics import KafkaDeliveryMetrics
from connectors.kafka_delivery.settings import KafkaDeliverySettings
from connectors.webhook.entries import Entry, audit_record, read_entry, sort_entry
from connectors.webhook.exceptions import SubscriptionGone
from connectors.webhook.plans import Authorisation, Authoriser, reload_timeout
from connectors.webhook.unkeyed import check_keys_at_start, refuse_unkeyed
from consumers.runtime import StoppedWhileRetrying, sink_options
from consumers.sink import BadMessages, SinkMetrics, SinkOptions, SinkRuntime
from consumers.sink import Batch as SinkBatch
from govbus import clients
from govbus.audit import AuditWriter, Outcome, audit_topic_spec
from govbus.exceptions import ConfigurationError, DeliveryError
from govbus.serde import WireDecoder
from govbus.service import serve_until_stopped
from govbus.sharing.authorisation import Catalogue
from govbus.sharing.model import DeliveryKind, Subscription
from govbus.sharing.runtime import consumer_group
from govbus.sharing.store import SharingStore
from govbus.topic_names import delivery_topic, parked_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import load_catalogue

log = logging.getLogger(__name__)
CONNECTOR = "kafka"
PARKED_PARTITIONS = 3
FIRST_WAIT_SECONDS = 10.0
"""how long a batch's writes are awaited before the consumer is polled again (acknowledgements take milliseconds)"""
WARNING_INTERVAL_SECONDS = 10.0
PENDING = "pending"


@dataclass
class Batch:
    """A batch's events sorted by what happens to them."""

    subscription: Subscription
    generation: int
    send: list[Entry] = field(default_factory=list)
    """shaped, not acknowledged yet"""
    delivered: list[Entry] = field(default_factory=list)
    refused: list[Entry] = field(default_factory=list)
    broken: list[Entry] = field(default_factory=list)


def check_kafka(subscription: Subscription) -> None:
    """A clear error unless ``subscription`` is delivered by kafka."""
    if subscription.delivery.kind is not DeliveryKind.KAFKA:
        raise ConfigurationError(f"subscription {subscription.name!r} is delivered by "
                                 f"{subscription.delivery.kind.value}, not by kafka; run its own connector "
                                 "(webhook: `govbus run webhook NAME`, postgres: `govbus run mirror NAME`)")


class KafkaDeliveryConnector:
    """Delivers one subscription to its topic (see the module docstring); :meth:`run` until :meth:`stop`."""

    def __init__(self, settings: KafkaDeliverySettings, catalogue: Catalogue, *,
                 collector: CollectorRegistry | None = None, store: SharingStore | None = None) -> None:
        self.settings = settings
        self.name = settings.kafka_delivery_subscription
        collector = collector or CollectorRegistry()
        self.metrics = KafkaDeliveryMetrics(collector, self.name)
        store = store or SharingStore(settings.kafka, settings.topic_prefix,
                                      reload_timeout(settings.kafka_delivery_refresh_seconds))
        self._pseudonym_key = settings.platform_pseudonym_key()
        self._authoriser = Authoriser(self.name, store.load, catalogue, settings.topic_prefix,
                                      settings.kafka_delivery_refresh_seconds, self.metrics.refresh_failures.inc,
                                      settings.kafka_delivery_stale_after_seconds)
        self._check_start(self._authoriser.current())
        self.topic = delivery_topic(self._authoriser.current().subscription.subscriber, self.name,
                                    settings.topic_prefix)
        self._parked_topic = parked_topic(self.name, settings.topic_prefix)
        self._decoder = WireDecoder(clients.registry_client(settings.registry))
        # idempotent (acks=all), and never giving up on a write: see _deliver
        self._producer = clients.producer(settings.kafka, {"linger.ms": 5, "message.timeout.ms": 0})
        self._audit = AuditWriter(self._producer, settings.topic_prefix, settings.audit_signing_key())
        consumer = clients.consumer(settings.kafka, consumer_group(self.name, settings.topic_prefix),
                                    self._consumer_options())
        # a record this connector cannot decode is parked by the runtime (and audited `parked` here)
        options = SinkOptions(self.name, settings.kafka_delivery_batch_size,
                              settings.kafka_delivery_batch_max_ms / 1000, BadMessages.PARK, self._parked_topic)
        self.runtime = SinkRuntime(consumer, self, options, SinkMetrics(collector), self._producer,
                                   report_lag=self._report_lag)

    def _check_start(self, authorisation: Authorisation) -> None:
        """Refuse to start for another kind of delivery, or when an item's keys would need a missing pseudonym key."""
        check_kafka(authorisation.subscription)
        check_keys_at_start(self.name, authorisation, self._pseudonym_key is not None)

    def _consumer_options(self) -> dict[str, object]:
        settings = self.settings
        session = settings.kafka_delivery_session_timeout_ms
        overrides: dict[str, str | int | bool] = {
            "client.id": f"govbus-kafka-delivery-{self.name}", "session.timeout.ms": session,
            "heartbeat.interval.ms": max(500, session // 6), "enable.partition.eof": False}
        return sink_options(**overrides)

    def stop(self) -> None:
        self.runtime.stop()

    def run(self) -> None:
        """Deliver until :meth:`stop` (or the subscription is removed); leave the group on the way out."""
        hours = self.settings.kafka_delivery_retention_hours
        ensure_topics(self.settings.kafka, [
            audit_topic_spec(self.settings.topic_prefix), TopicSpec(self._parked_topic, PARKED_PARTITIONS),
            TopicSpec(self.topic, self._partitions(self.topics()),
                      {"cleanup.policy": "delete", "retention.ms": str(hours * 3_600_000)})])
        self._authoriser.start()
        try:
            self.runtime.run()
        except StoppedWhileRetrying:
            log.info("stopped while retrying; the batch stays uncommitted", extra={"subscription": self.name})
        except SubscriptionGone as gone:
            log.warning("the subscription is no longer delivered here: the connector stops",
                        extra={"subscription": self.name, "reason": str(gone)})
        finally:
            self._authoriser.stop()

    def _partitions(self, sources: Sequence[str]) -> int:
        """As many partitions as the most partitioned source topic (1 if none exists yet)."""
        metadata = clients.admin(self.settings.kafka).list_topics(timeout=10).topics
        return delivery_partitions({name: len(topic.partitions) for name, topic in metadata.items()
                                    if topic.error is None}, sources)

    def topics(self) -> list[str]:
        """The source topics of the subscription's items now (the runtime follows them)."""
        return sorted(self._authoriser.current().topics)

    def authorisation(self) -> Authorisation:
        """The authorisation in force now (waiting, delivery paused, while the store cannot be read within the
        revocation bound), items whose keys would need a missing pseudonym key refused."""
        return refuse_unkeyed(self._authoriser.in_force(self.runtime.wait_paused), self._pseudonym_key is not None)

    def _still_kafka(self, subscription: Subscription) -> None:
        if subscription.delivery.kind is not DeliveryKind.KAFKA:
            raise SubscriptionGone(f"subscription {self.name!r} is now delivered by "
                                   f"{subscription.delivery.kind.value}, not by kafka")

    def handle(self, records: SinkBatch) -> None:
        """Decide, write and audit one batch; its offsets are committed once the audit is stored."""
        started = time.perf_counter()
        authorisation = self.authorisation()
        self._still_kafka(authorisation.subscription)
        batch = Batch(authorisation.subscription, authorisation.generation)
        for message in records.messages:
            self._sort(read_entry(message, authorisation, self._decoder), authorisation, batch)
        self._deliver(batch)
        self._settle(batch, records)
        if batch.delivered or batch.broken:
            self.metrics.batches.inc()
            self.metrics.batch_seconds.observe(time.perf_counter() - started)

    def _sort(self, entry: Entry, authorisation: Authorisation, batch: Batch) -> None:
        """Into ``batch.send`` (shaped), ``batch.refused`` or ``batch.broken``; filtered-out events are counted."""
        if not sort_entry(entry, authorisation, self._pseudonym_key, batch):
            self.metrics.filtered(entry.item)

    # -- writing ---------------------------------------------------------------------------------------

    def _deliver(self, batch: Batch) -> None:
        """Write ``batch.send`` and wait until the broker acknowledged every event (then they are delivered).

        The producer is idempotent and never gives up on a write (``message.timeout.ms`` 0): while the broker
        is away it retries in order, so what reached a partition is always a prefix of what was written to it,
        and a batch written again after a restart repeats that prefix before going on (the subscriber drops the
        repeats by event id, in order). An error the producer does not retry (the connector's principal may not
        write the topic, a record too large) stops the connector with the batch uncommitted."""
        if not batch.send:
            return
        outcomes = self._write(batch.send)
        failures = Counter(failure for failure in outcomes if failure is not None)
        if failures:
            for reason, count in failures.items():
                self.metrics.write_error(reason, count)
            raise DeliveryError(f"writing {sum(failures.values())} events to {self.topic} failed "
                                f"({', '.join(failures)}); nothing of this batch is committed: fix the cause (may "
                                "the connector's principal write the topic?) and start it again, the events are "
                                "written again")
        batch.delivered, batch.send = batch.send, []

    def _write(self, entries: list[Entry]) -> list[str | None]:
        """Write each entry's message and wait for every report: per entry, None once acknowledged, else the
        Kafka error's name. While the broker does not answer, the consumer keeps polling (partitions paused),
        so the group keeps the connector; stopping meanwhile leaves the batch uncommitted."""
        outcomes: list[str | None] = [PENDING] * len(entries)
        for index, entry in enumerate(entries):
            assert entry.shaped is not None, "only shaped events are written"
            entry.tried += 1
            self._produce(delivery_message(entry.shaped), _reporter(outcomes, index))
        self._producer.flush(FIRST_WAIT_SECONDS)
        waiting_since = time.monotonic()
        next_warning = waiting_since
        while PENDING in outcomes:
            if self.runtime.stopping.is_set():
                raise StoppedWhileRetrying(f"stopped while {outcomes.count(PENDING)} events written to "
                                           f"{self.topic} were not acknowledged; the batch stays uncommitted")
            if time.monotonic() >= next_warning:
                log.warning("the broker has not acknowledged events written to the delivery topic yet; waiting",
                            extra={"subscription": self.name, "topic": self.topic,
                                   "events": outcomes.count(PENDING),
                                   "waited_seconds": round(FIRST_WAIT_SECONDS + time.monotonic() - waiting_since)})
                next_warning = time.monotonic() + WARNING_INTERVAL_SECONDS
            self.runtime.wait_paused(1.0)
            self._producer.poll(0)
        return outcomes

    def _produce(self, message: DeliveryMessage, on_delivery: Callable[[KafkaError | None, Message], None]) -> None:
        while True:
            try:
                self._producer.produce(self.topic, key=message.key, value=message.value, headers=message.headers,
                                       on_delivery=on_delivery)
                return
            except BufferError:  # the local queue is full: serve reports until there is room
                self._producer.poll(0.1)

    # -- outcomes --------------------------------------------------------------------------------------

    def _settle(self, batch: Batch, pending: SinkBatch) -> None:
        """Audit every outcome (undecodable events are parked by the runtime); the runtime commits the offsets once
        those audit records are acknowledged (:mod:`consumers.sink`)."""
        for entry in batch.broken:
            pending.reject(entry.message, entry.problem or "undecodable")
        now = dt.datetime.now(dt.UTC)
        subscription = batch.subscription
        for entry in batch.delivered:
            self._audit.append(audit_record(subscription, self.name, CONNECTOR, entry, Outcome.DELIVERED, now),
                               pending.expect())
        for entry in batch.broken:
            self._audit.append(audit_record(subscription, self.name, CONNECTOR, entry, Outcome.PARKED, now,
                                            entry.problem), pending.expect())
        for entry in batch.refused:
            reason = entry.decision.reason if entry.decision else None
            self._audit.append(audit_record(subscription, self.name, CONNECTOR, entry, Outcome.REFUSED, now, reason),
                               pending.expect())
        self._count(batch, now)

    def _count(self, batch: Batch, now: dt.datetime) -> None:
        for item, count in Counter(entry.item for entry in batch.delivered).items():
            self.metrics.delivered(item, count)
        for item, count in Counter(entry.item for entry in batch.broken).items():
            self.metrics.parked(item, count)
        for item, count in Counter(entry.item for entry in batch.refused).items():
            self.metrics.refused(item, count)
        for entry in batch.delivered:
            published = entry.event.get("published_at") if entry.event else None
            if isinstance(published, dt.datetime):
                self.metrics.end_to_end_seconds.observe(max(0.0, (now - published).total_seconds()))

    def _report_lag(self, lags: dict[str, int]) -> None:
        for topic, lag in lags.items():
            self.metrics.lag(topic, lag)


def _reporter(outcomes: list[str | None], index: int) -> Callable[[KafkaError | None, Message], None]:
    """The delivery callback of write ``index``: its outcome (None, or the Kafka error's name)."""

    def report(error: KafkaError | None, _message: Message) -> None:
        outcomes[index] = None if error is None else error.name()

    return report


def run_connector(settings: KafkaDeliverySettings) -> None:
    """Run the connector in the foreground until SIGTERM or SIGINT (Prometheus on the metrics port)."""
    collector = CollectorRegistry()
    connector = KafkaDeliveryConnector(settings, load_catalogue(), collector=collector)
    log.info("kafka delivery connector started", extra={"subscription": connector.name, "topic": connector.topic,
                                                        "settings": settings.model_dump()})
    serve_until_stopped(connector, settings.kafka_delivery_metrics_port, collector,
                        metrics_host=settings.metrics_host)
