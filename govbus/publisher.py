"""The Publisher SDK: how a department publishes changes of the data items it owns.

    from govbus.publisher import Publisher

    with Publisher("market-regulation", source_system="registration-db") as publisher:
        future = publisher.publish("enterprise_registration", record)   # validated, then sent
        future.result()          # -> Delivery(topic, partition, offset, event_id), or raises DeliveryError
        report = publisher.flush()   # delivered / failed counts since the last flush

        outcomes = publisher.publish_many("enterprise_registration", records)   # bulk: one outcome per record
        # -> [Delivery | ValidationError | DeliveryError, ...] in order, once the broker has answered

        ready = publisher.prepare("enterprise_registration", record)   # validated and encoded, not sent
        future = publisher.send(ready)   # a batch's way to refuse record by record before producing any

- Only items the department owns in the catalogue can be published (:class:`NotOwnerError`).
- A record that breaks its item's rules raises :class:`govbus.exceptions.ValidationError` naming
  the field and rule before anything is sent; so does one that passes them but does not encode
  (``avro.encode``: a gap in the rules), or that is nested too deeply to be read (``record.nesting``).
  :meth:`publish_many` validates and encodes every record before it produces any, so a batch is
  accepted or refused record by record and nothing unexpected can stop it half-way.
- Values are Avro in the Confluent wire format (schema registered once per topic; a
  pre-parsed fastavro schema and a hand-written 5-byte header, see :mod:`govbus.serde`); keys are
  the item's key fields joined with ``|``; topics follow :mod:`govbus.topic_names`.
- A trace id defaults to the event id (hex), so one event is traceable without a caller's id.
- Every event carries the CloudEvents attributes as Kafka headers (binary content mode of the CloudEvents
  Kafka binding: ``ce_id`` is the event id, ``ce_source`` the department and source system, ...;
  :mod:`govbus.cloud_events`), so generic CloudEvents tooling reads it without knowing the envelope.
- The producer uses ``acks=all`` with idempotence on; a delivery failure is never swallowed: it
  fails the returned future, reaches the optional callback and is counted by :meth:`flush`.
  A background thread serves the delivery reports, so a future resolves without any polling;
  callbacks run on that thread (or on the caller's, inside :meth:`flush`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message
from confluent_kafka.schema_registry import SchemaRegistryClient
from pydantic import Field

from govbus import clients
from govbus.cloud_events import Headers, change_attributes, schema_reference
from govbus.envelope import Operation
from govbus.event_ids import EventIds
from govbus.exceptions import (
    AuthorizationError,
    ConfigurationError,
    DeliveryError,
    PlatformError,
    SerdeError,
    ValidationError,
)
from govbus.serde import WireEncoder
from govbus.settings import ClientSettings
from govbus.topic_names import DEFAULT_PREFIX, TopicPrefix, department_topic, value_subject
from schemas.catalogue import load_catalogue
from schemas.catalogue.model import KEY_SEPARATOR
from schemas.catalogue.types import text_problem

log = logging.getLogger(__name__)
SERVE_EVERY = 256
"""publish_many serves delivery reports after every this many records"""


class PublisherSettings(ClientSettings):
    """Env ``GOVBUS_KAFKA__BOOTSTRAP``, ``GOVBUS_REGISTRY__URL``, ``GOVBUS_PUBLISHER_*``."""

    publisher_linger_ms: int = Field(default=5, ge=0, description="ms the producer waits to fill a batch")
    publisher_delivery_timeout_ms: int = Field(default=120_000, ge=1000,
                                               description="ms after which an unacknowledged event fails")
    publisher_queue_max_messages: int = Field(default=200_000, ge=1000,
                                              description="events the producer queues before publish waits")
    topic_prefix: TopicPrefix = DEFAULT_PREFIX


class PublishableItem(Protocol):
    """What the Publisher needs of a catalogue item."""

    @property
    def name(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def key_fields(self) -> tuple[str, ...]: ...

    def validate(self, record: Mapping[str, Any]) -> dict[str, Any]: ...
    def key_of(self, record: dict[str, Any]) -> str: ...
    def event_schema(self) -> dict[str, Any]: ...


class ItemLookup(Protocol):
    def get(self, name: str) -> PublishableItem: ...


class NotOwnerError(AuthorizationError):
    """A department tried to publish an item it does not own."""


@dataclass(frozen=True)
class Delivery:
    """Where the broker stored one event."""

    topic: str
    partition: int
    offset: int
    event_id: str
    record_key: str


@dataclass
class FlushReport:
    delivered: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Prepared:
    """One change validated and encoded: all that is left is to produce it."""

    topic: str
    key: str
    value: bytes
    event_id: str
    headers: Headers = field(default_factory=list)
    """the CloudEvents attributes (:mod:`govbus.cloud_events`)"""


@dataclass(frozen=True)
class Change:
    """One change to send: what the caller gave, before the envelope is filled in."""

    operation: Operation
    key: str
    record: dict[str, Any] | None
    occurred_at: dt.datetime | None
    event_id: uuid.UUID | None
    trace_id: str | None
    source_system: str | None


DeliveryCallback = Callable[[Delivery | None, DeliveryError | None], None]

Outcome = Delivery | ValidationError | DeliveryError
"""What became of one record of :meth:`Publisher.publish_many`: stored, refused before sending, or not stored."""


class _Batch:
    """The outcomes of one :meth:`Publisher.publish_many` call, filled in by delivery reports on any thread."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome | None] = []
        self._pending = 0
        self._lock = threading.Lock()
        self._sent_all = False
        self.answered = threading.Event()

    def refused(self, error: ValidationError) -> None:
        self.outcomes.append(error)

    def sending(self) -> int:
        """A slot for a record about to be produced; its index."""
        with self._lock:
            self._pending += 1
        self.outcomes.append(None)
        return len(self.outcomes) - 1

    def resolve(self, index: int, outcome: Outcome) -> None:
        self.outcomes[index] = outcome
        with self._lock:
            self._pending -= 1
            if self._sent_all and not self._pending:
                self.answered.set()

    def all_sent(self) -> None:
        with self._lock:
            self._sent_all = True
            if not self._pending:
                self.answered.set()


class Publisher:
    """Publishes change events of one department's items (see the module docstring)."""

    def __init__(self, department: str, source_system: str = "default", *,
                 settings: PublisherSettings | None = None, catalogue: ItemLookup | None = None,
                 registry: SchemaRegistryClient | None = None) -> None:
        self.department = department
        self.source_system = source_system
        self._settings = settings or PublisherSettings()
        self._catalogue = catalogue or _default_catalogue()
        self._registry = registry or clients.registry_client(self._settings.registry)
        self._registry_url = self._settings.registry.url  # names the events' schemas in their CloudEvents headers
        self._producer = clients.producer(self._settings.kafka, self._producer_config())
        self._routes: dict[str, tuple[str, WireEncoder]] = {}
        self._event_ids = EventIds()
        self._report = FlushReport()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._bulk_calls = 0  # publish_many calls running: they serve the reports themselves
        self._background_serves = threading.Event()
        self._background_serves.set()
        self._reports = threading.Thread(target=self._serve_reports, name=f"publisher-{department}", daemon=True)
        self._reports.start()

    def _serve_reports(self) -> None:
        """Serve delivery reports in the background, so futures resolve without the caller polling; paused
        while :meth:`publish_many` serves them on its own thread (two threads polling the same producer
        contend for the GIL: a quarter of a bulk load's time here)."""
        while not self._closed.is_set():
            if self._background_serves.wait(0.1):
                self._producer.poll(0.1)

    def _bulk(self, starting: bool) -> None:
        with self._lock:
            self._bulk_calls += 1 if starting else -1
            if self._bulk_calls:
                self._background_serves.clear()
            else:
                self._background_serves.set()

    def _producer_config(self) -> dict[str, object]:
        return {
            "linger.ms": self._settings.publisher_linger_ms,
            "delivery.timeout.ms": self._settings.publisher_delivery_timeout_ms,
            "queue.buffering.max.messages": self._settings.publisher_queue_max_messages,
            "compression.type": "lz4",
        }

    def item(self, name: str) -> PublishableItem:
        """The catalogue item ``name``, if this department owns it."""
        item = self._catalogue.get(name)
        if item.department != self.department:
            raise NotOwnerError(
                f"department {self.department!r} may not publish {name!r}: the catalogue says "
                f"{item.department!r} owns it; publish only your own items (`govbus catalogue list`)"
            )
        return item

    def publish(self, item_name: str, record: dict[str, Any], *, occurred_at: dt.datetime | None = None,
                event_id: uuid.UUID | None = None, trace_id: str | None = None,
                source_system: str | None = None, on_delivery: DeliveryCallback | None = None) -> Future[Delivery]:
        """Validate ``record`` and send it as an UPSERT event; the future resolves on the broker's ack."""
        item = self.item(item_name)
        clean, key = _validated(item, record)
        change = Change(Operation.UPSERT, key, clean, occurred_at, event_id, trace_id, source_system)
        return self._send(self._prepared(item, change), on_delivery)

    def delete(self, item_name: str, record_key: str, *, occurred_at: dt.datetime | None = None,
               event_id: uuid.UUID | None = None, trace_id: str | None = None,
               source_system: str | None = None, on_delivery: DeliveryCallback | None = None) -> Future[Delivery]:
        """Send a DELETE event for ``record_key`` (the key fields joined with ``|``); :class:`ValidationError`
        when it is empty, has another number of parts than the item has key fields, or holds a control character."""
        item = self.item(item_name)
        _check_key(item, record_key)
        change = Change(Operation.DELETE, record_key, None, occurred_at, event_id, trace_id, source_system)
        return self._send(self._prepared(item, change), on_delivery)

    def publish_many(self, item_name: str, records: Iterable[Mapping[str, Any]], *,
                     source_system: str | None = None, timeout: float | None = None) -> list[Outcome]:
        """Validate and send every record as an UPSERT event, then wait for the broker: one outcome per record,
        in order (see :data:`Outcome`). Every record is validated and encoded before the first is produced; one
        that breaks a rule is not sent and does not stop the others. The bulk paths' way: no future per record.
        ``timeout`` defaults to the producer's delivery timeout (``GOVBUS_PUBLISHER_DELIVERY_TIMEOUT_MS``) plus 5 s,
        by when every record has its answer."""
        if timeout is None:
            timeout = self._settings.publisher_delivery_timeout_ms / 1000 + 5
        item = self.item(item_name)
        prepared = [self._prepare_upsert(item, record, source_system) for record in records]
        batch = _Batch()
        self._bulk(starting=True)
        try:
            for ready in prepared:
                if isinstance(ready, ValidationError):
                    batch.refused(ready)
                    continue
                index = batch.sending()
                # delivery reports are served every SERVE_EVERY records, not after each: a poll per record
                # was a tenth of a bulk load's time
                self._produce(ready.topic, ready.key.encode(), ready.value, ready.headers,
                              self._batch_callback(batch, index, ready.event_id, ready.key),
                              serve=index % SERVE_EVERY == 0)
            batch.all_sent()
            deadline = time.monotonic() + timeout
            while not batch.answered.is_set() and time.monotonic() < deadline:
                self._producer.poll(min(0.05, max(deadline - time.monotonic(), 0)))
        finally:
            self._bulk(starting=False)
        return [outcome if outcome is not None else
                DeliveryError(f"the broker did not acknowledge record {index + 1} within {timeout:.0f} s; it may "
                              "or may not be stored: publish it again (its event id changes, so deduplicate on "
                              "the record key)") for index, outcome in enumerate(batch.outcomes)]

    def _batch_callback(self, batch: _Batch, index: int, event_id: str, key: str,
                        ) -> Callable[[KafkaError | None, Message], None]:
        def delivered(error: KafkaError | None, message: Message) -> None:
            batch.resolve(index, self._outcome(error, message, event_id, key))

        return delivered

    def prepare(self, item_name: str, record: Mapping[str, Any], *, event_id: uuid.UUID | None = None,
                source_system: str | None = None) -> Prepared:
        """Validate and encode ``record`` as an UPSERT event without sending it (:meth:`send` does):
        :class:`ValidationError` for anything that would stop it. How a caller checks a whole batch first.
        ``event_id`` as :meth:`publish`'s (a new random one when not given)."""
        item = self.item(item_name)
        clean, key = _validated(item, record)
        return self._prepared(item, Change(Operation.UPSERT, key, clean, None, event_id, None, source_system))

    def send(self, prepared: Prepared, on_delivery: DeliveryCallback | None = None) -> Future[Delivery]:
        """Produce a :meth:`prepare`-d event; the future resolves on the broker's ack (as :meth:`publish`'s)."""
        return self._send(prepared, on_delivery)

    def _prepare_upsert(self, item: PublishableItem, record: Mapping[str, Any],
                        source_system: str | None) -> Prepared | ValidationError:
        try:
            clean, key = _validated(item, record)
            return self._prepared(item, Change(Operation.UPSERT, key, clean, None, None, None, source_system))
        except ValidationError as error:
            return error

    def _send(self, prepared: Prepared, on_delivery: DeliveryCallback | None) -> Future[Delivery]:
        future: Future[Delivery] = Future()
        callback = self._delivery_callback(future, prepared.event_id, prepared.key, on_delivery)
        self._produce(prepared.topic, prepared.key.encode(), prepared.value, prepared.headers, callback)
        return future

    def _prepared(self, item: PublishableItem, change: Change) -> Prepared:
        """``change`` encoded; a record the item's rules let through but its Avro schema does not hold is a
        :class:`ValidationError` too (``avro.encode``), so it is refused like any other, before anything is sent."""
        try:
            event_id, topic, value, headers = self._encoded(item, change)
        except SerdeError as error:
            raise ValidationError("record", "avro.encode", f"{error}; the record passed {item.name}'s rules but does "
                                  "not fit its Avro schema: fix the field named, and tell the platform operators "
                                  "(the catalogue's rules should have refused it)") from None
        return Prepared(topic, change.key, value, event_id, headers)

    def _encoded(self, item: PublishableItem, change: Change) -> tuple[str, str, bytes, Headers]:
        """(event id, topic, wire-format value, CloudEvents headers) of ``change``."""
        now = dt.datetime.now(dt.UTC)
        event_id = change.event_id or self._event_ids.new()
        # The envelope is built as the Avro dict directly: every field is set here, by govbus, and the
        # record was validated above, so a pydantic ChangeEvent per event would only cost time.
        event = {
            "event_id": str(event_id), "data_item": item.name, "department": self.department,
            "source_system": change.source_system or self.source_system, "operation": change.operation.value,
            "record_key": change.key, "occurred_at": change.occurred_at or now, "published_at": now,
            "trace_id": change.trace_id or event_id.hex, "record": change.record,
        }
        topic, encoder = self._route(item)
        value = encoder.encode(event)
        dataschema = schema_reference(self._registry_url, encoder.schema_id)
        return str(event["event_id"]), topic, value, change_attributes(event, dataschema).headers()

    def _route(self, item: PublishableItem) -> tuple[str, WireEncoder]:
        """The item's department topic and its encoder (schema registered on first use)."""
        route = self._routes.get(item.name)
        if route is None:
            topic = department_topic(self.department, item.name, self._settings.topic_prefix)
            self._require_topic(topic)
            route = (topic, WireEncoder(self._registry, value_subject(topic), item.event_schema()))
            self._routes[item.name] = route
        return route

    def _require_topic(self, topic: str) -> None:
        try:
            metadata = self._producer.list_topics(topic, timeout=10).topics.get(topic)
        except KafkaException as error:
            raise PlatformError(f"the broker at {self._settings.kafka.bootstrap} did not answer: {error}") from error
        if metadata is None or metadata.error is not None:
            raise ConfigurationError(f"topic {topic!r} does not exist; create the catalogue's topics with "
                                     "`govbus topics sync` (topic auto-creation is off)")

    def _produce(self, topic: str, key: bytes, value: bytes, headers: Headers,
                 callback: Callable[[KafkaError | None, Message], None], serve: bool = True) -> None:
        while True:
            try:
                self._producer.produce(topic, key=key, value=value, headers=headers, on_delivery=callback)
                break
            except BufferError:  # the local queue is full: serve delivery reports, then try again
                self._producer.poll(0.1)
        if serve:
            self._producer.poll(0)

    def _delivery_callback(self, future: Future[Delivery], event_id: str, key: str,
                           on_delivery: DeliveryCallback | None) -> Callable[[KafkaError | None, Message], None]:
        def delivered(error: KafkaError | None, message: Message) -> None:
            outcome = self._outcome(error, message, event_id, key)
            if isinstance(outcome, Delivery):
                future.set_result(outcome)
                if on_delivery:
                    on_delivery(outcome, None)
                return
            future.set_exception(outcome)
            if on_delivery:
                on_delivery(None, outcome)

        return delivered

    def _outcome(self, error: KafkaError | None, message: Message, event_id: str, key: str,
                 ) -> Delivery | DeliveryError:
        """The delivery report of one event, counted for :meth:`flush`."""
        if error is None:
            with self._lock:
                self._report.delivered += 1
            return Delivery(message.topic() or "", message.partition() or 0, message.offset() or 0, event_id, key)
        failure = DeliveryError(f"event {event_id} (key {key!r}) was not delivered to {message.topic()}: "
                                f"{error.str()}; it was not stored, publish it again")
        with self._lock:
            self._report.failed += 1
            self._report.failures.append(str(failure))
        log.error("delivery failed", extra={"event_id": event_id, "error": error.str()})
        return failure

    def flush(self, timeout: float = 60.0) -> FlushReport:
        """Wait for every pending event; return (and reset) the delivered and failed counts."""
        remaining = self._producer.flush(timeout)
        with self._lock:
            report, self._report = self._report, FlushReport()
        if remaining:
            report.failures.append(f"{remaining} events were still unacknowledged after {timeout:.0f} s")
        return report

    def close(self) -> FlushReport:
        """Flush, then stop serving delivery reports; the Publisher cannot be used afterwards."""
        report = self.flush()
        self._closed.set()
        self._reports.join(5)
        return report

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _validated(item: PublishableItem, record: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The record normalised and its key; :class:`ValidationError` for any problem, deep nesting included."""
    try:
        clean = item.validate(record)
    except RecursionError:  # reading or describing a value nested hundreds deep
        raise ValidationError("record", "record.nesting", "the record is nested too deeply to be read; a catalogue "
                              "record holds at most lists of records: send the item's fields only") from None
    return clean, item.key_of(clean)


def _check_key(item: PublishableItem, record_key: str) -> None:
    """A DELETE's record key: not empty, one part per key field, no control character."""
    if not isinstance(record_key, str) or not record_key.strip():
        raise ValidationError("record_key", "required", f"a delete of {item.name} needs the record's key")
    parts = record_key.split(KEY_SEPARATOR)
    if len(parts) != len(item.key_fields):
        raise ValidationError("record_key", "key.parts", f"has {len(parts)} part(s) separated by {KEY_SEPARATOR!r}; "
                              f"the key of {item.name} is {' | '.join(item.key_fields)}")
    problem = text_problem(record_key)
    if problem is not None:
        raise ValidationError("record_key", *problem)


def _default_catalogue() -> ItemLookup:

    catalogue: ItemLookup = load_catalogue()
    return catalogue
