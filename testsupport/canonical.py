"""Write canonical change events straight to a topic, and know the state they leave (tests, benchmarks).

    writer = CanonicalWriter(bootstrap, registry_url, item, canonical_topic(item.name, prefix))
    steps = change_scenario(item, keys=200, updates=150, deletes=30, tombstones=10, seed=1)
    writer.write(steps)                        # UPSERT / DELETE events and tombstones, keyed by record key
    expected = last_state(steps)               # record key -> record, computed in Python

Events use the item's ``event_schema()`` (or another envelope schema, e.g. a widened one) under the
topic's value subject, in the Confluent wire format, keyed by the record key.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from govbus import clients
from govbus.demo.synthetic_items import records_for
from govbus.exceptions import DeliveryError
from govbus.serde import WireEncoder
from testsupport.connections import kafka_at, registry_at

Operation = Literal["UPSERT", "DELETE", "TOMBSTONE"]


class EventItem(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def key_fields(self) -> tuple[str, ...]: ...
    @property
    def record_schema(self) -> dict[str, Any]: ...
    @property
    def identifier_fields(self) -> dict[str, Any]: ...
    def event_schema(self) -> dict[str, Any]: ...
    def key_of(self, record: Any) -> str: ...
    def validate(self, record: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Step:
    """One change: an upsert of ``record``, a DELETE event or a tombstone of ``key``."""

    operation: Operation
    key: str
    record: dict[str, Any] | None = None
    published_at: dt.datetime | None = None


def change_event(item: EventItem, step: Step, published_at: dt.datetime | None = None) -> dict[str, Any]:
    """The envelope dict of an UPSERT or DELETE step, ready for the item's event schema."""
    now = published_at or step.published_at or dt.datetime.now(dt.UTC)
    return {
        "event_id": str(uuid.uuid4()), "data_item": item.name, "department": item.department,
        "source_system": "govbus-tests", "operation": "DELETE" if step.operation == "DELETE" else "UPSERT",
        "record_key": step.key, "occurred_at": now, "published_at": now, "trace_id": uuid.uuid4().hex,
        "record": step.record if step.operation == "UPSERT" else None,
    }


def change_scenario(item: EventItem, keys: int, updates: int = 0, deletes: int = 0, tombstones: int = 0,
                    seed: int = 1) -> list[Step]:
    """``keys`` upserts of new records, then ``updates`` upserts of existing keys (a changed record,
    same key), then deletes and tombstones of existing keys, shuffled together after the inserts."""
    rng = random.Random(seed)
    fresh = [item.validate(s.record) for s in records_for(item, keys + updates, seed=seed)]
    records = {item.key_of(r): r for r in fresh[:keys]}
    names = list(records)
    steps = [Step("UPSERT", key, record) for key, record in records.items()]
    later: list[Step] = []
    for spare in fresh[keys:]:
        key = rng.choice(names)
        changed = {**spare, **{f: records[key][f] for f in item.key_fields}}
        later.append(Step("UPSERT", key, changed))
    later += [Step("DELETE", rng.choice(names)) for _ in range(deletes)]
    later += [Step("TOMBSTONE", rng.choice(names)) for _ in range(tombstones)]
    rng.shuffle(later)
    return steps + later


def last_state(steps: Iterable[Step]) -> dict[str, dict[str, Any]]:
    """Record key -> the record after every step, in order (deleted keys absent)."""
    state: dict[str, dict[str, Any]] = {}
    for step in steps:
        if step.operation == "UPSERT" and step.record is not None:
            state[step.key] = step.record
        else:
            state.pop(step.key, None)
    return state


class CanonicalWriter:
    """Produces change events of one item to ``topic`` (acks=all, idempotent), keyed by record key."""

    def __init__(self, bootstrap: str, registry_url: str, item: EventItem, topic: str,
                 event_schema: dict[str, Any] | None = None) -> None:
        self.item = item
        self.topic = topic
        self._encoder = WireEncoder(clients.registry_client(registry_at(registry_url)), f"{topic}-value",
                                    event_schema or item.event_schema())
        self._producer = clients.producer(kafka_at(bootstrap), {"acks": "all", "enable.idempotence": True,
                                   "linger.ms": 5})
        self._errors: list[str] = []

    @property
    def schema_id(self) -> int:
        return int(self._encoder.schema_id)

    def write(self, steps: Sequence[Step], flush: bool = True) -> None:
        for step in steps:
            value = None if step.operation == "TOMBSTONE" else self._encoder.encode(change_event(self.item, step))
            self._produce(step.key, value)
        if flush:
            self.flush()

    def _produce(self, key: str, value: bytes | None) -> None:
        while True:
            try:
                self._producer.produce(self.topic, key=key.encode(), value=value, on_delivery=self._on_delivery)
                break
            except BufferError:
                self._producer.poll(0.1)
        self._producer.poll(0)

    def _on_delivery(self, error: Any, _message: Any) -> None:
        if error is not None:
            self._errors.append(error.str())

    def flush(self, timeout: float = 30.0) -> None:
        if self._producer.flush(timeout) or self._errors:
            raise DeliveryError(f"events to {self.topic} not acknowledged: {self._errors[:3] or 'flush timed out'}")
