"""The webhook connector: one subscription's events, filtered, shaped, batched, signed and POSTed.

One process per subscription, in the consumer group ``consumer_group(name, prefix)``, reading the
source topics of the subscription's items. Its loop:

1. **collect** up to ``batch_size`` events, waiting at most ``batch_max_ms`` after the first;
2. **decide** each event against the current authorisation (:mod:`connectors.webhook.plans`):
   refused items are skipped (audited ``refused``), records failing the filter are dropped,
   the rest are shaped (planned fields only, personal ones masked) - deletes as the key only; a
   record key the subscriber may not see in clear becomes its pseudonym, made with the platform's
   pseudonym key (:mod:`govbus.sharing.pseudonyms`), never with the signing secret the receiver holds
   (without that key such items are refused: :mod:`connectors.webhook.unkeyed`);
3. **send** the batch (:mod:`connectors.webhook.sender`), signed per Standard Webhooks with the secrets of
   ``delivery.secret_env`` (:mod:`connectors.webhook.signing_secrets`): retried with backoff and jitter,
   ``Retry-After`` honoured; each attempt re-checks the grants first;
4. if every attempt failed, **park** the batch: each event as the subscriber was to receive it (its shaped
   JSON, keyed by its delivered record key: in clear or a pseudonym) goes to ``parked_topic(name, prefix)``
   with ``govbus.parked.*`` headers saying why (``govbus subscriptions redeliver NAME`` sends them again:
   :mod:`connectors.webhook.redeliver`); an event that cannot be decoded goes there too, as it came (it
   could not be shaped), rejected to the sink runtime's ``park`` policy (``govbus.dlq.*`` headers);
5. **audit** each event's final outcome (:mod:`govbus.audit`), without waiting for Kafka;
6. **commit** the batch's offsets once its audit records are acknowledged, in batch order
   (:mod:`connectors.webhook.commits`), while the next batches are already on their way.

Batches go one after another, so events of one key (one partition) arrive in order; a receiver
that never answers costs each batch its retry budget, then the batch is parked and the connector
moves on. Other subscriptions run in their own processes and groups and never wait for this one.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import time
from collections import Counter
from dataclasses import dataclass

import httpx
from prometheus_client import CollectorRegistry, start_http_server

from connectors.webhook.entries import Entry, audit_record, read_entry, sort_entry
from connectors.webhook.exceptions import SubscriptionGone
from connectors.webhook.metrics import WebhookMetrics
from connectors.webhook.payload import PARKED_CONTENT_HEADER, PARKED_SHAPED, batch_body, dumps
from connectors.webhook.plans import Authorisation, Authoriser, reload_timeout
from connectors.webhook.sender import Request, RetryPolicy, Sender, SendResult
from connectors.webhook.settings import WebhookSettings
from connectors.webhook.signing import Signer
from connectors.webhook.signing_secrets import signing_keys
from connectors.webhook.unkeyed import check_keys_at_start, refuse_unkeyed
from consumers.runtime import StoppedWhileRetrying, sink_options
from consumers.sink import BadMessages, SinkMetrics, SinkOptions, SinkRuntime
from consumers.sink import Batch as SinkBatch
from govbus import clients
from govbus.audit import AuditRecord, AuditWriter, Outcome, audit_topic_spec
from govbus.exceptions import ConfigurationError, DeliveryError
from govbus.serde import WireDecoder
from govbus.sharing.authorisation import Catalogue
from govbus.sharing.model import DeliveryKind, Subscription
from govbus.sharing.runtime import consumer_group
from govbus.sharing.store import SharingStore
from govbus.topic_names import parked_topic
from govbus.topics import TopicSpec, ensure_topics
from schemas.catalogue import load_catalogue

log = logging.getLogger(__name__)
CONNECTOR = "webhook"
PARKED_PARTITIONS = 3


@dataclass
class Batch:
    """A batch's events sorted by what happens to them."""

    send: list[Entry]
    refused: list[Entry]
    broken: list[Entry]
    generation: int
    subscription: Subscription
    """as it was when the batch was decided: its audit records name it even if it is removed meanwhile"""
    body: tuple[str, bytes] | None = None


def check_webhook(subscription: Subscription) -> str:
    """The receiver's URL, if ``subscription`` is delivered by webhook."""
    if subscription.delivery.kind != DeliveryKind.WEBHOOK or not subscription.delivery.url:
        raise ConfigurationError(f"subscription {subscription.name!r} is delivered by "
                                 f"{subscription.delivery.kind.value}, not by webhook with a url; "
                                 "run its own connector (kafka: `govbus run kafka-delivery NAME`, postgres: "
                                 "`govbus run mirror NAME`)")
    return subscription.delivery.url


class WebhookConnector:
    """Delivers one subscription (see the module docstring); :meth:`run` until :meth:`stop`."""

    def __init__(self, settings: WebhookSettings, catalogue: Catalogue, *, collector: CollectorRegistry | None = None,
                 store: SharingStore | None = None) -> None:
        self.settings = settings
        self.name = settings.webhook_subscription
        collector = collector or CollectorRegistry()
        self.metrics = WebhookMetrics(collector, self.name)
        store = store or SharingStore(settings.kafka, settings.topic_prefix,
                                      reload_timeout(settings.webhook_refresh_seconds))
        self._authoriser = Authoriser(self.name, store.load, catalogue, settings.topic_prefix,
                                      settings.webhook_refresh_seconds, self.metrics.refresh_failures.inc,
                                      settings.webhook_stale_after_seconds)
        self._pseudonym_key = settings.platform_pseudonym_key()
        authorisation = self._authoriser.current()
        check_webhook(authorisation.subscription)
        self._signer = Signer(signing_keys(authorisation.subscription, settings.webhook_signature_scheme),
                              settings.webhook_signature_scheme)
        check_keys_at_start(self.name, authorisation, self._pseudonym_key is not None)
        self._decoder = WireDecoder(clients.registry_client(settings.registry))
        self._producer = clients.producer(settings.kafka, {"linger.ms": 2})
        self._audit = AuditWriter(self._producer, settings.topic_prefix, settings.audit_signing_key())
        self._parked_topic = parked_topic(self.name, settings.topic_prefix)
        consumer = clients.consumer(settings.kafka, consumer_group(self.name, settings.topic_prefix),
                                    self._consumer_options())
        # a record this connector cannot decode is parked by the runtime (and audited `parked` here)
        options = SinkOptions(self.name, settings.webhook_batch_size, settings.webhook_batch_max_ms / 1000,
                              BadMessages.PARK, self._parked_topic)
        self.runtime = SinkRuntime(consumer, self, options, SinkMetrics(collector), self._producer,
                                   report_lag=self._report_lag)
        self._sender: Sender | None = None

    def _consumer_options(self) -> dict[str, object]:
        settings = self.settings
        poll_interval = int(min(86_400, settings.worst_batch_seconds() + 60) * 1000)
        overrides: dict[str, str | int | bool] = {
            "client.id": f"govbus-webhook-{self.name}", "session.timeout.ms": settings.webhook_session_timeout_ms,
            "heartbeat.interval.ms": max(500, settings.webhook_session_timeout_ms // 6),
            "max.poll.interval.ms": max(poll_interval, settings.webhook_session_timeout_ms),
            "enable.partition.eof": False}
        return sink_options(**overrides)

    def stop(self) -> None:
        self.runtime.stop()

    def run(self) -> None:
        """Deliver until :meth:`stop` (or the subscription is removed); leave the group on the way out."""
        ensure_topics(self.settings.kafka, [audit_topic_spec(self.settings.topic_prefix),
                                                      TopicSpec(self._parked_topic, PARKED_PARTITIONS)])
        self._authoriser.start()
        timeout = self.settings.webhook_request_timeout_seconds
        try:
            with httpx.Client(timeout=httpx.Timeout(timeout)) as client:
                self._sender = Sender(client, self._signer, self._retry_policy(), self.metrics,
                                      self.runtime.stopping)
                self.runtime.run()
        except StoppedWhileRetrying:
            log.info("stopped while retrying; the batch stays uncommitted")
        except SubscriptionGone as gone:
            log.warning("subscription removed: the connector stops", extra={"reason": str(gone)})
        finally:
            self._authoriser.stop()

    def _retry_policy(self) -> RetryPolicy:
        s = self.settings
        return RetryPolicy(s.webhook_max_attempts, s.webhook_max_throttled_attempts, s.webhook_retry_initial_seconds,
                           s.webhook_retry_max_seconds, s.webhook_retry_jitter_seconds,
                           s.webhook_retry_after_max_seconds)

    def topics(self) -> list[str]:
        """The source topics of the items the subscription is authorised for now (the runtime follows them)."""
        return sorted(self._authoriser.current().topics)

    def handle(self, records: SinkBatch) -> None:
        """Decide, send (or park) and audit one batch; its offsets are committed once the audit is stored."""
        assert self._sender is not None, "run() first"
        started = time.perf_counter()
        authorisation = self.authorisation()
        batch = Batch([], [], [], authorisation.generation, authorisation.subscription)
        for message in records.messages:
            self._sort(read_entry(message, authorisation, self._decoder), authorisation, batch)
        result = self._sender.send(lambda: self._prepare(batch)) if batch.send else SendResult(delivered=True)
        self._settle(batch, result, records)
        if batch.send or batch.broken:
            self.metrics.batches.inc()
            self.metrics.batch_seconds.observe(time.perf_counter() - started)

    def authorisation(self) -> Authorisation:
        """The authorisation in force now (waiting, delivery paused, while the store cannot be read within the
        revocation bound), items whose keys would need a missing pseudonym key refused."""
        return refuse_unkeyed(self._authoriser.in_force(self.runtime.wait_paused), self._pseudonym_key is not None)

    def _sort(self, entry: Entry, authorisation: Authorisation, batch: Batch) -> None:
        """Into ``batch.send`` (shaped), ``batch.refused`` or ``batch.broken``; filtered-out events are counted."""
        if not sort_entry(entry, authorisation, self._pseudonym_key, batch):
            self.metrics.filtered(entry.item)

    def _prepare(self, batch: Batch) -> Request | None:
        """The request for the next attempt, re-checked against the authorisation in force now."""
        authorisation = self.authorisation()
        if authorisation.generation != batch.generation:
            entries, batch.send = batch.send, []
            batch.generation, batch.body = authorisation.generation, None
            batch.subscription = authorisation.subscription
            for entry in entries:
                self._sort(entry, authorisation, batch)
        if not batch.send:
            return None
        if batch.body is None:
            shaped = [e.shaped for e in batch.send if e.shaped is not None]
            batch.body = batch_body(self.name, authorisation.subscription.subscriber, shaped)
        url = check_webhook(authorisation.subscription)
        for entry in batch.send:
            entry.tried += 1
        return Request(url, batch.body[1], batch.body[0], len(batch.send))

    def _settle(self, batch: Batch, result: SendResult, pending: SinkBatch) -> None:
        """Park what failed (acknowledged before going on), then audit every outcome; the runtime commits
        the offsets once those audit records are acknowledged (:mod:`consumers.sink`)."""
        if not result.delivered and batch.send:
            self._park(batch.send, result)
        for entry in batch.broken:
            pending.reject(entry.message, entry.problem or "undecodable")
        now = dt.datetime.now(dt.UTC)
        subscription = batch.subscription  # not the store's now: a batch delivered is audited even if removed since
        for entry in batch.send:
            outcome = Outcome.DELIVERED if result.delivered else Outcome.PARKED
            self._audit.append(self._record(subscription, entry, outcome, now, result), pending.expect())
        for entry in batch.broken:
            self._audit.append(self._record(subscription, entry, Outcome.PARKED, now, result, entry.problem),
                               pending.expect())
        for entry in batch.refused:
            reason = entry.decision.reason if entry.decision else None
            self._audit.append(self._record(subscription, entry, Outcome.REFUSED, now, result, reason),
                               pending.expect())
        self._count(batch, result, now)

    def _count(self, batch: Batch, result: SendResult, now: dt.datetime) -> None:
        sent = Counter(entry.item for entry in batch.send)
        for item, count in sent.items():
            (self.metrics.delivered if result.delivered else self.metrics.parked)(item, count)
        for item, count in Counter(entry.item for entry in batch.broken).items():
            self.metrics.parked(item, count)
        for item, count in Counter(entry.item for entry in batch.refused).items():
            self.metrics.refused(item, count)
        if result.delivered:
            for entry in batch.send:
                published = entry.event.get("published_at") if entry.event else None
                if isinstance(published, dt.datetime):
                    self.metrics.end_to_end_seconds.observe(max(0.0, (now - published).total_seconds()))

    def _record(self, subscription: Subscription, entry: Entry, outcome: Outcome, now: dt.datetime,
                result: SendResult, reason: str | None = None) -> AuditRecord:
        if outcome is Outcome.REFUSED and entry.tried:
            reason = f"{reason}; refused after {entry.tried} failed attempts, which the receiver may have seen"
        return audit_record(subscription, self.name, CONNECTOR, entry, outcome, now,
                            reason or (result.reason if outcome is Outcome.PARKED else None))

    def _park(self, entries: list[Entry], result: SendResult) -> None:
        errors: list[str] = []
        for entry in entries:
            message = entry.message
            headers: list[tuple[str, str | bytes | None]] = [
                ("govbus.parked.reason", (entry.problem or result.reason or "").encode()),
                ("govbus.parked.subscription", self.name.encode()),
                ("govbus.parked.attempts", str(result.attempts).encode()),
                ("govbus.parked.event_id", entry.event_id.encode()),
                ("govbus.parked.source.topic", (message.topic() or "").encode()),
                ("govbus.parked.source.partition", str(message.partition()).encode()),
                ("govbus.parked.source.offset", str(message.offset()).encode())]
            # what the subscriber was to receive (planned fields, masked, its record key), never canonical bytes
            assert entry.shaped is not None, "only shaped events are sent, so only they are parked"
            headers.append((PARKED_CONTENT_HEADER, PARKED_SHAPED))
            self._producer.produce(self._parked_topic, key=str(entry.shaped.body["record_key"]).encode(),
                                   value=dumps(entry.shaped.body), headers=headers,
                                   on_delivery=lambda err, _m: errors.append(err.str()) if err else None)
        if self._producer.flush(60) or errors:
            raise DeliveryError(f"parking {len(entries)} events in {self._parked_topic} failed: {errors[:3]}; "
                                "nothing is committed, they are handled again")
        log.warning("batch parked", extra={"events": len(entries), "reason": result.reason,
                                           "topic": self._parked_topic})

    def _report_lag(self, lags: dict[str, int]) -> None:
        for topic, lag in lags.items():
            self.metrics.lag(topic, lag)


def run_connector(settings: WebhookSettings) -> None:
    """Run the connector in the foreground until SIGTERM or SIGINT (Prometheus on the metrics port)."""

    collector = CollectorRegistry()
    connector = WebhookConnector(settings, load_catalogue(), collector=collector)
    if settings.webhook_metrics_port:
        start_http_server(settings.webhook_metrics_port, addr=settings.metrics_host, registry=collector)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: connector.stop())
    log.info("webhook connector started", extra={"subscription": settings.webhook_subscription,
                                                  "settings": settings.model_dump()})
    connector.run()
