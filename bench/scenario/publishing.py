"""The departments' side of a run: one thread per publishing path, each taking its streams' records from a queue.

- ``sdk``: a :class:`~govbus.publisher.Publisher` per department, each record acknowledged by the broker;
- ``bulk``: every few seconds, a department's records so far written to a JSON-lines file and loaded with
  :func:`connectors.file_source.load_file` (what ``govbus publish`` does);
- ``gateway``: JSON-lines batches POSTed to the department's ingest gateway, retried (with the same
  ``Idempotency-Key``) until answered, as a department's client would;
- ``outbox``: rows written into the department's ``govbus_outbox`` table in transactions (each with its own event
  id), published by the outbox connector; a refused write (the database restarting) is retried;
- ``dialect``: change events in a local dialect, produced to the department's local topic, a few sent twice.

Every record goes into the ledger with what the department was told: accepted (with its event id and key) or
refused (and why). Nothing here decides what the bus must deliver: the checker does, from the ledger.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from confluent_kafka import KafkaError, Message, Producer

from bench.scenario.ledger import Ledger
from bench.scenario.streams_plan import BULK, DIALECT, GATEWAY, OUTBOX, SDK, Stream
from connectors.file_source import load_file
from govbus import clients
from govbus.demo.dialect_samples import DialectSample
from govbus.demo.results import jsonable
from govbus.exceptions import GovbusError, PlatformError, RegistryError, ValidationError
from govbus.publisher import Delivery, Publisher, PublisherSettings
from govbus.serde import WireEncoder
from govbus.topic_names import department_topic, value_subject
from schemas.catalogue import load_catalogue
from streams.dialects import dialects_for

log = logging.getLogger(__name__)

BULK_EVERY_S = 5.0
RETRIED_RULES = ("delivery", "not_sent")
"""a bulk file's lines the broker did not take (it was away): the department loads them again"""
GATEWAY_BATCH = 200
STOP = object()


@dataclass
class PathContext:
    """What the path threads need from the run."""

    prefix: str
    ledger: Ledger
    seed: int
    resend_share: float
    publisher_settings: Callable[[str], PublisherSettings]
    """department -> its Publisher's settings (as its principal)"""
    producer_for: Callable[[str], Producer]
    registry_for: Callable[[str], Any]
    gateways: dict[str, tuple[str, str]] = field(default_factory=dict)
    """department -> (gateway URL, API key)"""
    outbox_dsn: str | None = None
    work_dir: Path = Path(".")

    def publisher(self, stream: Stream) -> Publisher:
        """A Publisher of ``stream``'s department; while the broker does not answer (a fault), it tries again, as
        the department's application would."""
        while True:
            try:
                return Publisher(stream.department, stream.source_system,
                                 settings=self.publisher_settings(stream.department))
            except (PlatformError, RegistryError):
                time.sleep(1)


class PathWorker(threading.Thread):
    """One publishing path: takes (stream, record) from its queue until STOP, then finishes what it holds."""

    path = ""

    def __init__(self, context: PathContext) -> None:
        super().__init__(name=f"publish-{self.path}", daemon=True)
        self.context = context
        self.queue: queue.Queue[Any] = queue.Queue()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as error:  # reported by the runner, never lost in a thread
            self.error = error
            log.exception("publishing path %s failed", self.path)

    def work(self) -> None:
        raise NotImplementedError

    def take(self, timeout: float) -> list[Any] | None:
        """What is queued now (waiting up to ``timeout`` for the first); None once STOP was taken."""
        try:
            first = self.queue.get(timeout=timeout)
        except queue.Empty:
            return []
        taken = [first]
        while len(taken) < 5000:
            try:
                taken.append(self.queue.get_nowait())
            except queue.Empty:
                break
        if STOP in taken:
            taken.remove(STOP)
            self.queue.put(STOP)
            if not taken:
                return None
        return taken

    def refuse(self, stream: Stream, reason: str, key: str | None = None) -> None:
        self.context.ledger.record(path=self.path, department=stream.department, item=stream.item,
                                   topic=self._topic(stream), event_id=None, key=key, accepted=False, reason=reason)

    def _topic(self, stream: Stream) -> str:
        return department_topic(stream.department, stream.item, self.context.prefix)


class SdkPath(PathWorker):
    path = SDK

    def work(self) -> None:
        publishers: dict[str, Publisher] = {}
        try:
            while (taken := self.take(0.2)) is not None:
                for stream, (record, _broken) in taken:
                    publisher = publishers.get(stream.department)
                    if publisher is None:
                        publisher = self.context.publisher(stream)
                        publishers[stream.department] = publisher
                    self._publish(publisher, stream, record)
        finally:
            for publisher in publishers.values():
                publisher.flush(timeout=300)
                publisher.close()

    def _publish(self, publisher: Publisher, stream: Stream, record: dict[str, Any]) -> None:
        while True:
            try:
                future = publisher.publish(stream.item, record, source_system=stream.source_system)
                break
            except ValidationError as error:
                self.refuse(stream, f"{error.field}: {error.rule}")
                return
            except (PlatformError, RegistryError):  # the item's topic could not be checked: nothing was sent yet
                time.sleep(1)
        def acknowledged(done: Any) -> None:
            self._acknowledged(stream, done)
        future.add_done_callback(acknowledged)

    def _acknowledged(self, stream: Stream, done: Any) -> None:
        try:
            delivery: Delivery = done.result()
        except GovbusError as error:
            self.refuse(stream, f"delivery failed: {type(error).__name__}")
            return
        self.context.ledger.record(path=self.path, department=stream.department, item=stream.item,
                                   topic=delivery.topic, event_id=delivery.event_id, key=delivery.record_key,
                                   accepted=True)


class BulkPath(PathWorker):
    """A department's bulk file every BULK_EVERY_S seconds, loaded as ``govbus publish`` loads it."""

    path = BULK
    retry: list[tuple[Stream, dict[str, Any]]]

    def work(self) -> None:
        self.retry = []
        pending: dict[Stream, list[dict[str, Any]]] = defaultdict(list)
        last = time.monotonic()
        files = 0
        while (taken := self.take(0.5)) is not None:
            for stream, (record, _broken) in taken:
                pending[stream].append(record)
            if time.monotonic() - last >= BULK_EVERY_S:
                files += self._load(pending, files)
                last = time.monotonic()
        self._load(pending, files)

    def _load(self, pending: dict[Stream, list[dict[str, Any]]], files: int) -> int:
        for stream, record in self.retry:
            pending[stream].append(record)
        self.retry = []
        loaded = 0
        for stream, records in list(pending.items()):
            if records:
                self._load_file(stream, records, files + loaded)
                loaded += 1
            pending[stream] = []
        return loaded

    def _load_file(self, stream: Stream, records: list[dict[str, Any]], number: int) -> None:
        item = load_catalogue().get(stream.item)
        path = self.context.work_dir / "bulk" / f"{stream.department}-{stream.item}-{number:05d}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(jsonable(r), ensure_ascii=False) + "\n" for r in records),
                        encoding="utf-8")
        while True:
            try:
                with self.context.publisher(stream) as publisher:
                    report = load_file(publisher, stream.item, path)
                break
            except (PlatformError, RegistryError):  # checked before the first line is sent: load it again
                time.sleep(1)
        refused = {rejection.line: rejection for rejection in report.rejected}
        for line, record in enumerate(records, start=1):
            key = _key_or_none(item, record)
            if line in refused and refused[line].rule in RETRIED_RULES:  # the broker was away: in the next file
                self.retry.append((stream, record))
            elif line in refused:
                self.refuse(stream, f"{refused[line].field}: {refused[line].rule}", key)
            else:  # the file report names no event ids: the checker finds the event by its topic and key
                self.context.ledger.record(path=self.path, department=stream.department, item=stream.item,
                                           topic=self._topic(stream), event_id=None, key=key, accepted=True)


def _delivery_failed(response: httpx.Response) -> bool:
    """Whether the gateway could not confirm a record's delivery (``failed``: the broker did not acknowledge it in
    time), which the gateway asks to be answered by sending the batch again with the same Idempotency-Key."""
    if response.status_code not in (202, 422):
        return False
    try:
        return any(result.get("status") == "failed" for result in response.json().get("results", []))
    except ValueError:
        return False


class GatewayPath(PathWorker):
    """JSON-lines batches to the ingest gateway; a batch that got no answer, or a record of it whose delivery the
    gateway could not confirm, is sent again with the same Idempotency-Key (the same event ids), until the gateway
    answers every record (it may be down for a while: a fault)."""

    path = GATEWAY

    def work(self) -> None:
        with httpx.Client(timeout=30) as http:
            while (taken := self.take(0.3)) is not None:
                batches: dict[Stream, list[dict[str, Any]]] = defaultdict(list)
                for stream, (record, _broken) in taken:
                    batches[stream].append(jsonable(record))
                for stream, records in batches.items():
                    for start in range(0, len(records), GATEWAY_BATCH):
                        self._post(http, stream, records[start:start + GATEWAY_BATCH])

    def _post(self, http: httpx.Client, stream: Stream, records: list[dict[str, Any]]) -> None:
        url, key = self.context.gateways[stream.department]
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson",
                   "X-Source-System": stream.source_system, "Idempotency-Key": uuid.uuid4().hex}
        answer = None
        while answer is None:
            try:
                response = http.post(f"{url}/v1/items/{stream.item}/records", content=body, headers=headers)
                if response.status_code < 500 and not _delivery_failed(response):
                    answer = response
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self._record(stream, records, answer)

    def _record(self, stream: Stream, records: list[dict[str, Any]], response: httpx.Response) -> None:
        results = response.json().get("results", []) if response.status_code in (202, 422) else []
        if len(results) != len(records):  # no per-record answer (another 4xx), or one missing: all refused
            for _record in records:
                self.refuse(stream, f"HTTP {response.status_code}: {len(results)} results for {len(records)}")
            return
        for outcome in results:
            if outcome["status"] == "accepted":
                self.context.ledger.record(path=self.path, department=stream.department, item=stream.item,
                                           topic=outcome.get("topic") or self._topic(stream),
                                           event_id=outcome["event_id"], key=outcome.get("key"), accepted=True)
            else:
                self.refuse(stream, f"{outcome.get('field', '')}: {outcome.get('rule', '')}")


class OutboxPath(PathWorker):
    """Rows in the department's outbox table, a transaction per take; each row's event id is chosen here, so the
    ledger knows it before the connector publishes it."""

    path = OUTBOX

    def work(self) -> None:
        rng = random.Random(f"{self.context.seed}:outbox")
        while (taken := self.take(0.3)) is not None:
            rows = [(stream, uuid.UUID(int=rng.getrandbits(128), version=4), jsonable(record))
                    for stream, (record, _broken) in taken]
            self._insert(rows)

    def _insert(self, rows: list[tuple[Stream, uuid.UUID, dict[str, Any]]]) -> None:
        assert self.context.outbox_dsn is not None
        while True:
            try:
                with psycopg.connect(self.context.outbox_dsn, connect_timeout=5) as connection, \
                        connection.transaction():
                    for _stream, event_id, record in rows:
                        connection.execute("INSERT INTO govbus_outbox (event_id, data_item, record) "
                                           "VALUES (%s, %s, %s::jsonb)",
                                           (event_id, _stream.item, json.dumps(record, ensure_ascii=False)))
                break
            except psycopg.OperationalError:  # the database is restarting: the application tries again
                time.sleep(0.5)
        for stream, event_id, record in rows:
            key = _key_or_none(load_catalogue().get(stream.item), record)
            self.context.ledger.record(path=self.path, department=stream.department, item=stream.item,
                                       topic=self._topic(stream), event_id=str(event_id), key=key, accepted=True)


class DialectPath(PathWorker):
    """Local-dialect change events, produced by each department's own system; ``resend_share`` of them twice."""

    path = DIALECT

    def work(self) -> None:
        rng = random.Random(f"{self.context.seed}:dialect")
        encoders: dict[Stream, tuple[Producer, WireEncoder, str]] = {}
        while (taken := self.take(0.2)) is not None:
            for stream, sample in taken:
                producer, encoder, topic = encoders.get(stream) or self._encoder(stream, encoders)
                event = _change_event(sample, stream, rng)
                value = encoder.encode(event)
                sends = 2 if rng.random() < self.context.resend_share else 1
                for _ in range(sends):
                    self._produce(producer, topic, stream, sample, event["event_id"], value)
                producer.poll(0)
        for producer, _encoder, _topic in encoders.values():
            producer.flush(300)

    def _encoder(self, stream: Stream, encoders: dict[Stream, tuple[Producer, WireEncoder, str]]) \
            -> tuple[Producer, WireEncoder, str]:
        dialect = next(d for d in dialects_for(stream.item) if d.name == stream.dialect)
        topic = dialect.topic(self.context.prefix)
        encoder = WireEncoder(self.context.registry_for(stream.department), value_subject(topic),
                              dialect.event_schema())
        encoders[stream] = (self.context.producer_for(stream.department), encoder, topic)
        return encoders[stream]

    def _produce(self, producer: Producer, topic: str, stream: Stream, sample: DialectSample, event_id: str,
                 value: bytes) -> None:
        def acknowledged(error: KafkaError | None, _message: Message) -> None:
            self.context.ledger.record(path=self.path, department=stream.department, item=stream.item, topic=topic,
                                       event_id=event_id if error is None else None, key=sample.key,
                                       accepted=error is None, reason=None if error is None else error.name())
        while True:
            try:
                producer.produce(topic, key=sample.key.encode(), value=value, on_delivery=acknowledged)
                return
            except BufferError:  # the broker is away and the queue full: wait for room, as a producer must
                producer.poll(0.5)


def _change_event(sample: DialectSample, stream: Stream, rng: random.Random) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {"event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "data_item": sample.item,
            "department": stream.department, "source_system": stream.source_system, "operation": "UPSERT",
            "record_key": sample.key, "occurred_at": now, "published_at": now,
            "trace_id": f"{rng.getrandbits(128):032x}", "record": sample.local}


def _key_or_none(item: Any, record: dict[str, Any]) -> str | None:
    try:
        return str(item.key_of(record))
    except ValidationError:
        return None


WORKERS: dict[str, type[PathWorker]] = {SDK: SdkPath, BULK: BulkPath, GATEWAY: GatewayPath, OUTBOX: OutboxPath,
                                        DIALECT: DialectPath}

__all__ = ["STOP", "WORKERS", "PathContext", "PathWorker", "producer_factory"]


def producer_factory(connection_for: Callable[[str], Any]) -> Callable[[str], Producer]:
    """One idempotent producer per department, made once."""
    made: dict[str, Producer] = {}
    lock = threading.Lock()

    def producer(department: str) -> Producer:
        with lock:
            if department not in made:
                made[department] = clients.producer(connection_for(department))
            return made[department]
    return producer
