"""Plain confluent-kafka loops, the normaliser benchmarks' baselines: consume -> (work) -> produce, no guarantees.

- the **plain loop** (``normalising_route``): each record through the normaliser's own
  :class:`~streams.normalising.handler.ItemNormaliser` (decode + normalise + validate + encode), to a
  canonical or a dead-letter topic of its own; no transactions, no deduplication, no state;
- the **byte copy** (``copy_route``): the bytes copied untouched (the ceiling of any consume-produce loop).

Both read with a ``Consumer`` (read_committed, partitions assigned: no group wait, offsets committed
at the end) and write with a ``Producer`` (acks=all, idempotence, linger 2 ms as the workers'
producers). :func:`pipe_rate` runs one in this process over a given number of records, as fast as
it goes. ``python -m bench._pipes`` (settings from ``GOVBUS_KAFKA__BOOTSTRAP``, ``GOVBUS_REGISTRY__URL``,
``GOVBUS_TOPIC_PREFIX``, as the normaliser's) runs the plain loop as its own process, from the
beginning of the (fresh) source topics until SIGTERM, one message at a time (no batch wait): the
latency benchmark's baseline.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition

from bench._dialect_events import ITEM
from govbus import clients
from govbus.serde import WireDecoder
from streams.dead_letters import DeadLetter
from streams.normaliser import item_normaliser
from streams.normalising.handler import Accepted
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import source_topics
from testsupport.connections import kafka_at

Headers = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True)
class Out:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers | None = None


Route = Callable[[Message], Out]


def plain_canonical_topic(prefix: str) -> str:
    return f"{prefix}.bench.plain-canonical"


def plain_dead_letter_topic(prefix: str) -> str:
    return f"{prefix}.bench.plain-dead-letter"


def byte_copy_topic(prefix: str) -> str:
    return f"{prefix}.bench.byte-copy"


def normalising_route(settings: NormaliserSettings) -> Route:
    """What the normaliser does to a record, minus deduplication, to the plain loop's own topics."""
    registry = clients.registry_client(settings.registry)
    normaliser = item_normaliser(settings, ITEM, registry, WireDecoder(registry))
    canonical, dead = plain_canonical_topic(settings.topic_prefix), plain_dead_letter_topic(settings.topic_prefix)

    def route(message: Message) -> Out:
        topic = str(message.topic())
        outcome = normaliser.handle(message.value(), topic)
        if isinstance(outcome, Accepted):
            return Out(canonical, outcome.key, outcome.value, list(outcome.headers()))
        letter = DeadLetter(outcome.reason, outcome.stage, topic, int(message.partition() or 0),
                            int(message.offset() or 0), field=outcome.field, rule=outcome.rule)
        return Out(dead, message.key(), message.value(), list(letter.headers()))

    return route


def copy_route(prefix: str) -> Route:
    target = byte_copy_topic(prefix)

    def route(message: Message) -> Out:
        return Out(target, message.key(), message.value())

    return route


def _consumer(bootstrap: str, topics: list[str], start: int) -> Consumer:
    consumer = clients.consumer(kafka_at(bootstrap), f"bench-pipe-{uuid.uuid4().hex[:8]}",
                                {"enable.auto.commit": False, "enable.partition.eof": False})
    assignment = [TopicPartition(topic, partition, start) for topic in topics
                  for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
    consumer.assign(assignment)
    return consumer


def _producer(bootstrap: str) -> Producer:
    return clients.producer(kafka_at(bootstrap), {"acks": "all", "enable.idempotence": True, "linger.ms": 2,
                     "queue.buffering.max.messages": 500_000})


def _produce(producer: Producer, out: Out) -> None:
    while True:
        try:
            producer.produce(out.topic, key=out.key, value=out.value, headers=out.headers)
            return
        except BufferError:
            producer.poll(0.05)


def pipe_rate(bootstrap: str, topics: list[str], count: int, route: Route) -> float:
    """Records/s of the loop over the first ``count`` records of ``topics``: from the first record read to
    the last one acknowledged."""
    consumer, producer = _consumer(bootstrap, topics, OFFSET_BEGINNING), _producer(bootstrap)
    seen, started = 0, 0.0
    try:
        while seen < count:
            for message in consumer.consume(500, 1.0):
                if message.error():
                    continue
                if not seen:
                    started = time.perf_counter()
                _produce(producer, route(message))
                seen += 1
            producer.poll(0)
        if producer.flush(120):
            raise RuntimeError("the pipe's producer did not deliver everything in 120 s")
        consumer.commit(asynchronous=False)
        return (count - 1) / (time.perf_counter() - started)
    finally:
        consumer.close()


def serve(settings: NormaliserSettings) -> None:
    """The plain loop from the beginning of the sources until SIGTERM."""
    route = normalising_route(settings)
    bootstrap = settings.kafka.bootstrap
    consumer, producer = _consumer(bootstrap, source_topics(settings, ITEM), OFFSET_BEGINNING), _producer(bootstrap)
    stopping = False

    def stop(_signal: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        message = consumer.poll(0.1)  # one at a time: consume(n, t) would wait for n messages or t
        if message is not None and not message.error():
            _produce(producer, route(message))
        producer.poll(0)
    producer.flush(30)
    consumer.close()


if __name__ == "__main__":
    serve(NormaliserSettings(normaliser_items=(ITEM,)))
