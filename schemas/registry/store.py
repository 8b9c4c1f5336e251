"""The registry's Kafka-backed log: replay at start, tail in the background, append on writes.

The log is partition 0 of a compacted topic. A consumer with a manual ``assign()`` (no
group, no commits) reads it from the beginning in a background thread and hands each record
to the event loop, where ``apply`` updates the state; so the state is only ever touched on
the event loop. The producer uses ``acks=all`` and idempotence; an append returns only once
the broker has acknowledged every record *and* this instance has read it back and applied
it, which also tells the writer whether the state accepted it (see fencing in
:mod:`schemas.registry.state`). Each appended record carries a unique write id header so
the read-back can be matched to the waiting writer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Message, Producer, TopicPartition

from govbus import clients
from govbus.connection import KafkaConnection
from govbus.exceptions import StartupTimeoutError
from schemas.registry.errors import OperationTimeout, StoreError
from schemas.registry.records import MalformedRecord, StoreRecord, decode, encode
from schemas.registry.state import Fence

log = logging.getLogger(__name__)

WRITE_ID = "govbus-write-id"
EPOCH = "govbus-epoch"
INSTANCE = "govbus-instance"

Apply = Callable[[StoreRecord, Fence | None], bool]


class KafkaLog:
    """Replays, tails and appends to the registry topic; ``apply`` runs on the event loop."""

    def __init__(self, kafka: KafkaConnection, topic: str, apply: Apply, write_timeout: float) -> None:
        self._kafka = kafka
        self._topic = topic
        self._apply = apply
        self._write_timeout = write_timeout
        self._waiters: dict[str, asyncio.Future[bool]] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._replayed: asyncio.Future[None] | None = None
        self._producer: Producer | None = None
        self._progress = asyncio.Event()
        self.position = 0

    async def start(self, timeout: float) -> None:
        """Start reading; return once every record present at start has been applied."""
        self._loop = asyncio.get_running_loop()
        self._replayed = self._loop.create_future()
        self._producer = clients.producer(self._kafka, self._producer_config())
        self._spawn(self._consume, "registry-log-reader")
        self._spawn(self._serve_producer, "registry-log-producer")
        try:
            await asyncio.wait_for(asyncio.shield(self._replayed), timeout)
        except TimeoutError:
            raise StartupTimeoutError(
                f"could not read the registry topic {self._topic!r} from {self._kafka.bootstrap} within "
                f"{timeout:.0f} s; is Kafka reachable?"
            ) from None
        log.info("replayed the registry log", extra={"topic": self._topic, "offset": self.position})

    def _producer_config(self) -> dict[str, Any]:
        return {
            "linger.ms": 0,
            # give up on delivery (50001) a little before the writer stops waiting (50002)
            "message.timeout.ms": int(self._write_timeout * 800),
        }

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    async def append(self, records: Sequence[StoreRecord], fence: Fence | None) -> list[bool]:
        """Write ``records`` in order; return, for each, whether the state accepted it."""
        assert self._loop is not None and self._producer is not None, "start() first"
        ids: list[str] = []
        try:
            for record in records:
                ids.append(self._produce(record, fence))
            futures = [self._waiters[i] for i in ids]
            return list(await asyncio.wait_for(asyncio.gather(*futures), self._write_timeout))
        except TimeoutError:
            raise OperationTimeout(
                f"Kafka did not acknowledge the write within {self._write_timeout:.0f} s; "
                "it may or may not have been applied: read it back before retrying."
            ) from None
        except (BufferError, KafkaException) as exc:
            raise StoreError(f"Could not write to the registry topic {self._topic!r}: {exc}") from None
        finally:
            for write_id in ids:
                self._waiters.pop(write_id, None)

    def _produce(self, record: StoreRecord, fence: Fence | None) -> str:
        assert self._loop is not None and self._producer is not None
        write_id = uuid.uuid4().hex
        self._waiters[write_id] = self._loop.create_future()
        headers: list[tuple[str, str | bytes | None]] = [(WRITE_ID, write_id.encode())]
        if fence is not None:
            headers += [(EPOCH, str(fence.epoch).encode()), (INSTANCE, fence.instance.encode())]
        key, value = encode(record)
        self._producer.produce(
            self._topic, key=key, value=value, partition=0, headers=headers,
            on_delivery=partial(self._delivered, write_id),
        )
        return write_id

    def _delivered(self, write_id: str, err: KafkaError | None, _msg: Message) -> None:
        """Producer thread: a failed delivery fails the waiting writer at once."""
        if err is not None:
            self._post(self._fail, write_id, err)

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback(*args)`` on the event loop, from another thread."""
        if self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: we are shutting down
            pass

    def _fail(self, write_id: str, err: KafkaError) -> None:
        waiter = self._waiters.get(write_id)
        if waiter is not None and not waiter.done():
            waiter.set_exception(StoreError(f"Kafka refused the write to {self._topic!r}: {err.str()}"))

    def _serve_producer(self) -> None:
        assert self._producer is not None
        while not self._stop.is_set():
            self._producer.poll(0.1)

    def _consume(self) -> None:
        """Reader thread: poll the partition and pass batches to the event loop."""
        consumer = clients.consumer(self._kafka, f"govbus-registry-reader-{uuid.uuid4().hex}", self._consumer_config())
        consumer.assign([TopicPartition(self._topic, 0, OFFSET_BEGINNING)])
        try:
            while not self._stop.is_set():
                batch = consumer.consume(num_messages=500, timeout=0.2)
                if batch:
                    self._post(self._on_batch, batch)
        except Exception:  # a dead reader must be loud: the state would silently go stale
            log.exception("the registry log reader stopped", extra={"topic": self._topic})
        finally:
            consumer.close()

    def _consumer_config(self) -> dict[str, Any]:
        return {
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 50,
        }

    async def wait_for_position(self, position: int, timeout: float) -> bool:
        """Wait until every record before offset ``position`` is applied; False on timeout."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.position < position:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._progress.wait(), remaining)
            except TimeoutError:
                return False
        return True

    def _on_batch(self, batch: list[Message]) -> None:
        for message in batch:
            error = message.error()
            if error is None:
                self._on_message(message)
            elif error.code() == KafkaError._PARTITION_EOF:
                self._on_end(message.offset() or 0)
            else:
                log.warning("error reading the registry log", extra={"topic": self._topic, "error": error.str()})
        self._progress.set()
        self._progress = asyncio.Event()

    def _on_end(self, offset: int) -> None:
        self.position = max(self.position, offset)
        if self._replayed is not None and not self._replayed.done():
            self._replayed.set_result(None)

    def _on_message(self, message: Message) -> None:
        headers = _headers(message)
        offset = message.offset() or 0
        self.position = offset + 1
        accepted = self._apply_safely(message, headers, offset)
        write_id = headers.get(WRITE_ID)
        waiter = self._waiters.get(write_id.decode(errors="replace")) if write_id else None
        if waiter is not None and not waiter.done():
            waiter.set_result(accepted)

    def _apply_safely(self, message: Message, headers: dict[str, bytes], offset: int) -> bool:
        try:
            record = decode(message.key(), message.value())
            return self._apply(record, _fence(headers))
        except (MalformedRecord, ValueError) as exc:
            log.warning("skipping a record the registry cannot read", extra={"offset": offset, "error": str(exc)})
        except Exception:  # poison record: skip it, keep serving
            log.exception("skipping a record that failed to apply", extra={"offset": offset})
        return False

    async def close(self) -> None:
        """Stop the threads and flush the producer."""
        self._stop.set()
        for thread in self._threads:
            await asyncio.to_thread(thread.join, 10)
        if self._producer is not None:
            await asyncio.to_thread(self._producer.flush, 5)


def _headers(message: Message) -> dict[str, bytes]:
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return {key: value for key, value in pairs if isinstance(value, bytes)}


def _fence(headers: dict[str, bytes]) -> Fence | None:
    epoch, instance = headers.get(EPOCH), headers.get(INSTANCE)
    if epoch is None or instance is None:
        return None
    try:
        return Fence(int(epoch), instance.decode())
    except (ValueError, UnicodeDecodeError):
        return None
