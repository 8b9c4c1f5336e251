"""Sending a subscription's parked events again: ``govbus subscriptions redeliver NAME``.

A parked record (:meth:`connectors.webhook.connector.WebhookConnector._park`) holds the shaped event the
subscriber was to receive, with a ``govbus.parked.content: shaped`` header. Redelivery reads the parked topic
from the position of its own consumer group, ``redeliver_group(name, prefix)``, so each parked event goes out
once; then, per event:

- the subscription must still exist and be delivered by webhook, and the event's item must still be
  authorised now, delivering no field, clear value or clear key the plan in force would not: otherwise the
  event is **skipped** (audited ``refused``, reported);
- the rest go out in batches exactly as the connector sends them (:func:`connectors.webhook.payload.batch_body`,
  signed with the secrets of the subscription's ``secret_env`` under ``GOVBUS_WEBHOOK_SIGNATURE_SCHEME`` (the
  ``webhook-id`` is the batch key: the same events redelivered keep it), retried by
  :class:`connectors.webhook.sender.Sender`); after each 2xx they are audited ``delivered`` and the group's
  offsets committed;
- a batch with no 2xx after its retries stops the run (**failed**): nothing of it is committed, a later run
  sends it again. Records without the header (undecodable records the sink runtime parked as they came) are
  passed over, counted as ``not shaped``.

The audit names an event by its record key in clear: a pseudonymised key is looked up in the event's source
record (``govbus.parked.source.*`` headers); once retention removed it, the audit record carries the pseudonym.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from confluent_kafka import Consumer, Message, TopicPartition
from prometheus_client import CollectorRegistry

from connectors.webhook.connector import check_webhook
from connectors.webhook.metrics import WebhookMetrics
from connectors.webhook.payload import PARKED_CONTENT_HEADER, PARKED_SHAPED, ShapedEvent, batch_body, key_in_clear
from connectors.webhook.plans import Authorisation, authorise_items
from connectors.webhook.sender import Request, RetryPolicy, Sender
from connectors.webhook.settings import WebhookSettings
from connectors.webhook.signing import Signer
from connectors.webhook.signing_secrets import signing_keys
from govbus import clients
from govbus.audit import AuditRecord, AuditWriter, Outcome
from govbus.exceptions import ConfigurationError, DeliveryError
from govbus.sharing.authorisation import Catalogue
from govbus.sharing.model import Subscription
from govbus.sharing.profile_authorisation import profile_name
from govbus.sharing.runtime import redeliver_group
from govbus.sharing.store import SharingStore
from govbus.topic_names import parked_topic
from govbus.topic_reader import read_partitions

CONNECTOR = "webhook-redeliver"
PSEUDONYM_PREFIX = "hmac-sha256:"
READ_TIMEOUT_SECONDS = 60.0


@dataclass
class Parked:
    """One shaped parked event."""

    message: Message
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def event_id(self) -> str:
        return str(self.body.get("event_id", ""))

    @property
    def item(self) -> str:
        return str(self.body.get("item", ""))

    def shaped(self) -> ShapedEvent:
        record = self.body.get("record")
        return ShapedEvent(self.body, list(record) if isinstance(record, dict) else [],
                           list(self.body.get("masked_fields") or []))


@dataclass
class RedeliveryReport:
    """What a run did (or, dry, would do)."""

    subscription: str
    group: str
    dry_run: bool
    redelivered: list[dict[str, str]] = field(default_factory=list)
    """event_id, item, operation of each event sent (dry run: that would be sent)"""
    skipped: list[dict[str, str]] = field(default_factory=list)
    """event_id, item, reason of each event not authorised now"""
    failed: int = 0
    not_shaped: int = 0
    failure: str | None = None


def still_authorised(parked: Parked, authorisation: Authorisation) -> str | None:
    """Why ``parked`` may not go out under the authorisation in force now; ``None``: it may."""
    decision = authorisation.decide(parked.item)
    plan = decision.plan
    if plan is None:
        return decision.reason or f"{parked.item} is not authorised now"
    key = str(parked.body.get("record_key", ""))
    if not key.startswith(PSEUDONYM_PREFIX) and not key_in_clear(plan, decision.key_fields):
        return "its record key went out in clear, which the plan in force no longer allows"
    record = parked.body.get("record")
    if not isinstance(record, dict):
        return None
    extra = sorted(set(record) - set(plan.fields))
    if extra:
        return f"fields no longer planned: {', '.join(extra)}"
    if profile_name(parked.item) is None:
        masked = set(parked.body.get("masked_fields") or [])
        now_masked = sorted(n for n in record if n not in plan.clear and n not in masked and record[n] is not None)
        if now_masked:
            return f"fields the plan in force masks went out in clear: {', '.join(now_masked)}"
    return None


class Redelivery:
    """One run of ``govbus subscriptions redeliver`` (see the module docstring)."""

    def __init__(self, settings: WebhookSettings, catalogue: Catalogue, store: SharingStore | None = None) -> None:
        self.settings = settings
        self.name = settings.webhook_subscription
        self.prefix = settings.topic_prefix
        self.topic = parked_topic(self.name, self.prefix)
        self.group = redeliver_group(self.name, self.prefix)
        snapshot = (store or SharingStore(settings.kafka, self.prefix)).load()
        subscription = snapshot.subscriptions.get(self.name)
        if subscription is None:
            raise ConfigurationError(f"no subscription {self.name!r} in the sharing store: its parked events cannot "
                                     "be redelivered (`govbus subscriptions list` shows the subscriptions)")
        check_webhook(subscription)
        self.subscription: Subscription = subscription
        self.authorisation = authorise_items(subscription, catalogue, list(snapshot.grants.values()),
                                             dt.datetime.now(dt.UTC), self.prefix, 1)

    def run(self, dry_run: bool) -> RedeliveryReport:
        """Redeliver every parked event past the group's position (``dry_run``: only say which)."""
        report = RedeliveryReport(self.name, self.group, dry_run)
        consumer = clients.consumer(self.settings.kafka, self.group,
                                    {"enable.auto.commit": False, "enable.partition.eof": True})
        try:
            messages = self._unread(consumer)
            if dry_run:
                self._dry(messages, report)
                return report
            self._send_all(consumer, messages, report)
            return report
        finally:
            consumer.close()

    def _unread(self, consumer: Consumer) -> list[Message]:
        """The parked records past the group's committed offsets, in (partition, offset) order."""
        metadata = consumer.list_topics(self.topic, timeout=30).topics.get(self.topic)
        if metadata is None or metadata.error is not None:
            return []  # nothing was ever parked
        partitions = [TopicPartition(self.topic, p) for p in sorted(metadata.partitions)]
        starts, ends = [], {}
        for tp in consumer.committed(partitions, timeout=30):
            low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, tp.partition), timeout=30)
            start = max(low, tp.offset) if tp.offset >= 0 else low
            if high > start:
                starts.append(TopicPartition(self.topic, tp.partition, start))
                ends[(self.topic, tp.partition)] = high
        return read_partitions(consumer, starts, ends, READ_TIMEOUT_SECONDS)

    def _dry(self, messages: list[Message], report: RedeliveryReport) -> None:
        for message in messages:
            parked = shaped_parked(message)
            if parked is None:
                report.not_shaped += 1
            elif (reason := still_authorised(parked, self.authorisation)) is not None:
                report.skipped.append(_row(parked, reason))
            else:
                report.redelivered.append(_row(parked))

    def _send_all(self, consumer: Consumer, messages: list[Message], report: RedeliveryReport) -> None:
        scheme = self.settings.webhook_signature_scheme
        signer = Signer(signing_keys(self.subscription, scheme), scheme)
        producer = clients.producer(self.settings.kafka, {"linger.ms": 2})
        audit = AuditWriter(producer, self.prefix, self.settings.audit_signing_key())
        s = self.settings
        policy = RetryPolicy(s.webhook_max_attempts, s.webhook_max_throttled_attempts, s.webhook_retry_initial_seconds,
                             s.webhook_retry_max_seconds, s.webhook_retry_jitter_seconds,
                             s.webhook_retry_after_max_seconds)
        metrics = WebhookMetrics(CollectorRegistry(), self.name)
        with httpx.Client(timeout=httpx.Timeout(s.webhook_request_timeout_seconds)) as client:
            sender = Sender(client, signer, policy, metrics, threading.Event())
            batch: list[Parked] = []

            def flush() -> bool:
                sent = self._send(sender, batch, audit, report) if batch else True
                if sent:
                    _commit(consumer, [p.message for p in batch])
                batch.clear()
                return sent

            for message in messages:
                parked = shaped_parked(message)
                reason = None if parked is None else still_authorised(parked, self.authorisation)
                if parked is not None and reason is None:
                    batch.append(parked)
                    if len(batch) >= s.webhook_batch_size and not flush():
                        return
                    continue
                if not flush():  # what came before goes first: a failed batch leaves this one uncommitted
                    return
                if parked is None:
                    report.not_shaped += 1
                else:
                    report.skipped.append(_row(parked, reason))
                    self._audit(audit, [parked], Outcome.REFUSED, f"not redelivered: {reason}")
                    audit.flush()
                _commit(consumer, [message])
            flush()

    def _send(self, sender: Sender, batch: list[Parked], audit: AuditWriter, report: RedeliveryReport) -> bool:
        """POST ``batch`` (retried); on a 2xx audit it ``delivered`` and say True, else count it failed."""
        key, body = batch_body(self.name, self.subscription.subscriber, [p.shaped() for p in batch])
        url = check_webhook(self.subscription)
        result = sender.send(lambda: Request(url, body, key, len(batch)))
        if not result.delivered:
            report.failed += len(batch)
            report.failure = result.reason
            return False
        self._audit(audit, batch, Outcome.DELIVERED, None, result.attempts)
        audit.flush()
        report.redelivered.extend(_row(p) for p in batch)
        return True

    def _audit(self, audit: AuditWriter, batch: list[Parked], outcome: Outcome, reason: str | None,
               attempts: int = 0) -> None:
        keys = clear_keys(self.settings, batch)
        now = dt.datetime.now(dt.UTC)
        for parked in batch:
            plan = self.authorisation.decide(parked.item).plan
            shaped = parked.shaped()
            delivered = outcome is Outcome.DELIVERED
            audit.append(AuditRecord(
                at=now, subscriber=self.subscription.subscriber, subscription=self.name, connector=CONNECTOR,
                item=parked.item, record_key=keys.get(parked.event_id, str(parked.body.get("record_key", ""))),
                event_id=parked.event_id, operation=str(parked.body.get("operation", "UPSERT")), outcome=outcome,
                fields_delivered=shaped.delivered_fields if delivered else [],
                fields_masked=shaped.masked_fields if delivered else [],
                grant_id=plan.grant_id if plan else None, attempts=attempts, reason=reason))


def shaped_parked(message: Message) -> Parked | None:
    """``message`` as a shaped parked event; ``None`` for any other parked record (undecodable ones)."""
    headers = {k: (v or b"") for k, v in message.headers() or []}
    if headers.get(PARKED_CONTENT_HEADER) != PARKED_SHAPED:
        return None
    try:
        body = json.loads(message.value() or b"")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    return Parked(message, body, {k: v.decode(errors="replace") for k, v in headers.items()})


def clear_keys(settings: WebhookSettings, batch: list[Parked]) -> dict[str, str]:
    """event id -> its record key in clear, for the events whose parked key is a pseudonym, from the source
    records the ``govbus.parked.source.*`` headers name (those retention removed are left out)."""
    wanted: dict[tuple[str, int, int], str] = {}
    for parked in batch:
        if str(parked.body.get("record_key", "")).startswith(PSEUDONYM_PREFIX):
            h = parked.headers
            try:
                wanted[(h["govbus.parked.source.topic"], int(h["govbus.parked.source.partition"]),
                        int(h["govbus.parked.source.offset"]))] = parked.event_id
            except (KeyError, ValueError):
                continue
    if not wanted:
        return {}
    return _read_keys(settings, wanted)


def _read_keys(settings: WebhookSettings, wanted: dict[tuple[str, int, int], str]) -> dict[str, str]:
    consumer = clients.consumer(settings.kafka, f"govbus-reader-{uuid.uuid4().hex}",
                                {"enable.auto.commit": False, "enable.partition.eof": True})
    try:
        ranges: dict[tuple[str, int], tuple[int, int]] = {}
        for topic, partition, offset in wanted:
            first, last = ranges.get((topic, partition), (offset, offset))
            ranges[(topic, partition)] = (min(first, offset), max(last, offset))
        starts, ends = [], {}
        for (topic, partition), (first, last) in ranges.items():
            low, _high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
            if last >= low:
                starts.append(TopicPartition(topic, partition, max(first, low)))
                ends[(topic, partition)] = last + 1
        found = {}
        for message in read_partitions(consumer, starts, ends, READ_TIMEOUT_SECONDS):
            event_id = wanted.get((message.topic() or "", message.partition() or 0, message.offset() or 0))
            if event_id is not None and message.key():
                found[event_id] = (message.key() or b"").decode(errors="replace")
        return found
    finally:
        consumer.close()


def _row(parked: Parked, reason: str | None = None) -> dict[str, str]:
    row = {"event_id": parked.event_id, "item": parked.item, "operation": str(parked.body.get("operation", ""))}
    return {**row, "reason": reason} if reason is not None else row


def _commit(consumer: Consumer, messages: list[Message]) -> None:
    """Commit the positions after ``messages`` (synchronously: a later run must not send them again)."""
    positions: dict[int, int] = {}
    for message in messages:
        partition, offset = message.partition() or 0, message.offset() or 0
        positions[partition] = max(positions.get(partition, 0), offset + 1)
    if not positions:
        return
    topic = messages[0].topic() or ""
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in positions.items()], asynchronous=False)
    except Exception as error:
        raise DeliveryError(f"committing the redelivered position of {topic} failed ({error!r}): the events "
                            "were delivered and audited; a later run sends them again (receivers drop them "
                            "by idempotency key)") from error

