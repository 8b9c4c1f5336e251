"""The most any Quix Streams processor can do on this machine: bare Quix applications doing the processors' work.

    .venv/bin/python -m bench.bench_quix_ceiling [--records 20000] [--rounds 2]

bench_normaliser and bench_profiles measure govbus's processors; this one measures the floor under
them: Quix Streams 3.28.1 applications with nothing of govbus's engine (no metrics, no pacer, no
dead letters, no headers), run in this process over the same N enterprise-registration events as
bench_normaliser (3 dialects, 5 % invalid, 3 partitions each), exactly-once, read_committed:

- **plain loop** (1.00): consume -> :class:`~streams.normalising.handler.ItemNormaliser` -> produce,
  in batches, no guarantees (``bench/_pipes.py``, as bench_normaliser's baseline);
- **quix, the same work**: one ``apply`` doing the same ``ItemNormaliser.handle`` per record, then
  ``to_topic``: what Quix's per-message loop and its transactions cost;
- **quix, the same work + an event id in RocksDB**: as above, plus what deduplication needs at the
  least: one state ``get`` and one ``set`` with an event-time TTL per record (and its changelog
  record in the transaction); the ceiling of any exactly-once normaliser with a state store;
- **quix, two hops + state, no work**: the shape of the profile builder at its cheapest: bytes
  re-keyed through a repartition topic (``to_topic`` with a new key, read back in the same app),
  then one state ``get`` and ``set`` per event and one output, with no decoding or encoding at
  all: the ceiling of input events/s of a profile builder on Quix here (its target is 10,000);
- **quix, two hops + state + decode/encode**: the same with the least a profile builder must do with
  the data: decode each event to find its profile key (hop 1) and again to apply it (hop 2; Avro as
  stored, no logical-type conversions), keep its record in the key's state (JSON, as Quix stores
  it), and encode one event-sized output (a profile is at least its anchor record).

Each Quix variant runs at commit interval 1 s (transactions nearly free) and at 0.02 s (the
deployed interval for latency). Rates run from the first record handled to the N-th. Prints per
round and as medians with every round's figure in brackets, and the ratios to the plain loop.
The machine is shared and has 2 cores: run it more than once. Starts and stops (by PID) a local
broker and registry unless GOVBUS_KAFKA__BOOTSTRAP / GOVBUS_REGISTRY__URL are set; deletes the topics
it made.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import struct
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import fastavro
from quixstreams import Application, message_context
from quixstreams.state import State

from bench._dialect_events import ITEM, dialect_events, produce_all
from bench._pipes import normalising_route, pipe_rate
from bench._platform import delete_topics, platform
from bench._report import spread
from govbus import clients
from govbus.clients.kafka import READ_COMMITTED
from govbus.clients.stream import stream_application
from govbus.serde import WireDecoder, without_logical_types, writer_schema
from govbus.topics import TopicSpec, ensure_topics
from streams.normaliser import item_normaliser
from streams.normalising.handler import Accepted
from streams.normalising.settings import NormaliserSettings
from streams.normalising.topics import ensure_normaliser_topics, source_topics
from testsupport.connections import kafka_at, registry_at

PARTITIONS = 3
PLAIN = "plain loop, ItemNormaliser"
SAME_WORK = "quix, the same work"
WITH_STATE = "quix, the same work + an event id in RocksDB"
TWO_HOPS = "quix, two hops + state, no work"
TWO_HOPS_CODEC = "quix, two hops + state + decode/encode"
DEDUP_WINDOW = timedelta(hours=1)


@dataclass
class Counted:
    """Stops ``app`` at the ``target``-th record and notes when the first and last were handled."""

    app: Application
    target: int
    seen: int = 0
    first: float = 0.0
    last: float = 0.0

    def tick(self) -> None:
        now = time.perf_counter()
        if not self.seen:
            self.first = now
        self.seen += 1
        if self.seen >= self.target:
            self.last = now
            self.app.stop()

    def rate(self) -> float:
        return (self.seen - 1) / (self.last - self.first)


def application(bootstrap: str, interval: float) -> Application:
    """A bare exactly-once application with a fresh group and state directory."""
    return stream_application(kafka_at(bootstrap), consumer_group=f"bench-ceiling-{uuid.uuid4().hex[:6]}",
                       processing_guarantee="exactly-once", commit_interval=interval, auto_offset_reset="earliest",
                       state_dir=tempfile.mkdtemp(prefix="govbus-bench-ceiling-"),
                       consumer_poll_timeout=min(interval, 0.1), consumer_extra_config=dict(READ_COMMITTED),
                       producer_extra_config={"linger.ms": 2}, loglevel="WARNING")


def normalising_ceiling(settings: NormaliserSettings, records: int, interval: float, with_state: bool) -> float:
    """Records/s of a bare Quix app doing ``ItemNormaliser.handle`` (and, ``with_state``, a TTL get/set) per record."""
    registry = clients.registry_client(settings.registry)
    normaliser = item_normaliser(settings, ITEM, registry, WireDecoder(registry))
    app = application(settings.kafka.bootstrap, interval)
    counted = Counted(app, records)
    output = app.topic(f"{settings.topic_prefix}.bench.ceiling-out", key_serializer="bytes", value_serializer="bytes")

    def handled(value: bytes, topic: str) -> bytes:
        outcome = normaliser.handle(value, topic)
        counted.tick()
        return outcome.value if isinstance(outcome, Accepted) else value

    def step(value: bytes, key: bytes, timestamp: int, headers: Any) -> bytes:
        return handled(value, _topic())

    def stateful_step(value: bytes, key: bytes, timestamp: int, headers: Any, state: State[str, Any]) -> bytes:
        event_id = _offset_id()
        if state.get(event_id) is None:
            state.set(event_id, 1, ttl=DEDUP_WINDOW)
        return handled(value, _topic())

    for source in source_topics(settings, ITEM):
        stream = app.dataframe(app.topic(source, key_deserializer="bytes", value_deserializer="bytes"))
        if with_state:
            stream = stream.apply(stateful_step, stateful=True, metadata=True)
        else:
            stream = stream.apply(step, metadata=True)
        stream.to_topic(output)
    app.run()
    return counted.rate()


def two_hop_ceiling(settings: NormaliserSettings, records: int, interval: float, codec: bool) -> float:
    """Input events/s of events re-keyed through a repartition topic, then a state get/set and an output each;
    with ``codec``, each event decoded in both hops (Avro as stored, no logical-type conversions), its record
    kept in state and the event encoded again as the output (the least a profile builder must do)."""
    app = application(settings.kafka.bootstrap, interval)
    counted = Counted(app, records)
    prefix = settings.topic_prefix
    output = app.topic(f"{prefix}.bench.ceiling-profiles", key_serializer="bytes", value_serializer="bytes")
    codecs = RawCodecs(settings.registry.url)

    def build(value: bytes, key: bytes, timestamp: int, headers: Any, state: State[str, Any]) -> bytes:
        counted.tick()
        if not codec:
            state.get_bytes("profile")  # a profile builder reads the key's profile and writes it back, changed
            state.set_bytes("profile", value)
            return value
        schema_id, event = codecs.decode(value)
        state.get("profile")
        state.set("profile", event["record"])
        return codecs.encode(schema_id, event)

    def rekey(value: bytes) -> bytes:  # the profile's key is in the record (without decoding: its last 8 bytes)
        return str(codecs.decode(value)[1]["record_key"]).encode() if codec else value[-8:]

    repartition = app.topic(f"{prefix}.bench.ceiling-repartition", key_serializer="bytes", value_serializer="bytes",
                            key_deserializer="bytes", value_deserializer="bytes")
    for topic in source_topics(settings, ITEM):
        stream = app.dataframe(app.topic(topic, key_deserializer="bytes", value_deserializer="bytes"))
        stream.to_topic(repartition, key=rekey)
    app.dataframe(repartition).apply(build, stateful=True, metadata=True).to_topic(output)
    app.run()
    return counted.rate()


class RawCodecs:
    """Wire-format Avro read and written as stored (no logical-type conversions), by writer schema id."""

    def __init__(self, registry_url: str) -> None:
        self._registry = clients.registry_client(registry_at(registry_url))
        self._decoder = WireDecoder(self._registry, logical_types=False)
        self._schemas: dict[int, Any] = {}

    def decode(self, value: bytes) -> tuple[int, dict[str, Any]]:
        decoded = self._decoder.decode(value)
        return decoded.schema_id, decoded.value

    def encode(self, schema_id: int, value: dict[str, Any]) -> bytes:
        if schema_id not in self._schemas:
            self._schemas[schema_id] = fastavro.parse_schema(without_logical_types(writer_schema(self._registry,
                                                                                                   schema_id)))
        out = io.BytesIO()
        out.write(struct.pack(">bI", 0, schema_id))
        fastavro.schemaless_writer(out, self._schemas[schema_id], value)
        return out.getvalue()


def _topic() -> str:
    return message_context().topic


def _offset_id() -> str:
    """A unique id per input record (the events' own ids would need decoding first)."""
    context = message_context()
    return f"{context.topic}/{context.partition}/{context.offset}"


def prepare(bootstrap: str, registry_url: str, prefix: str, records: int) -> NormaliserSettings:
    settings = NormaliserSettings(kafka=kafka_at(bootstrap), registry=registry_at(registry_url), topic_prefix=prefix,
                                  normaliser_items=(ITEM,), normaliser_partitions=PARTITIONS, normaliser_dedup=False)
    ensure_normaliser_topics(settings)
    ensure_topics(kafka_at(bootstrap), [TopicSpec(f"{prefix}.bench.{name}", PARTITIONS) for name in
                              ("plain-canonical", "plain-dead-letter", "ceiling-out", "ceiling-repartition",
                               "ceiling-profiles")])
    produce_all(bootstrap, dialect_events(registry_url, prefix, records, 0.05, seed=7))
    print(f"{records:,} {ITEM} events in 3 dialects on {PARTITIONS} partitions each; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    return settings


def one_round(settings: NormaliserSettings, records: int) -> dict[str, float]:
    topics = source_topics(settings, ITEM)
    rates = {PLAIN: pipe_rate(settings.kafka.bootstrap, topics, records, normalising_route(settings))}
    runs: list[tuple[str, Callable[[float], float]]] = [
        (SAME_WORK, lambda interval: normalising_ceiling(settings, records, interval, with_state=False)),
        (WITH_STATE, lambda interval: normalising_ceiling(settings, records, interval, with_state=True)),
        (TWO_HOPS, lambda interval: two_hop_ceiling(settings, records, interval, codec=False)),
        (TWO_HOPS_CODEC, lambda interval: two_hop_ceiling(settings, records, interval, codec=True)),
    ]
    for label, run in runs:
        for interval in (1.0, 0.02):
            rates[f"{label}, {interval:g} s"] = run(interval)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    prefix = f"govbus.bench-{uuid.uuid4().hex[:6]}"
    with platform() as (bootstrap, registry_url):
        try:
            settings = prepare(bootstrap, registry_url, prefix, args.records)
            rounds = []
            for number in range(1, args.rounds + 1):
                rounds.append(one_round(settings, args.records))
                print(f"  round {number} (load average {os.getloadavg()[0]:.1f}): " + ", ".join(
                    f"{name} {rate:,.0f}/s" for name, rate in rounds[-1].items()), flush=True)
            print(f"medians of {len(rounds)} rounds (every round in brackets), and / plain loop:")
            for name in rounds[0]:
                values = [r[name] for r in rounds]
                ratios = [r[name] / r[PLAIN] for r in rounds]
                print(f"  {name:<55} {statistics.median(values):>9,.0f}/s {spread(values):<20} "
                      f"{statistics.median(ratios):.2f} {spread(ratios, '.2f')}")
        finally:
            print(f"deleted the {delete_topics(bootstrap, [prefix, 'bench-ceiling-'])} topics of this run")


if __name__ == "__main__":
    os.environ.setdefault("GOVBUS_LOG_LEVEL", "WARNING")
    main()
