"""What a subscriber reads from its delivery topic, and which events may be written there at all.

One Kafka message per delivered event:

- **key**: the record key as the subscriber may see it (``record_key`` of the value): in clear when
  every key field is planned for it unmasked, else ``hmac-sha256:<hex>``, the subscriber's pseudonym
  made with the platform's pseudonym key (:mod:`govbus.sharing.pseudonyms`). Equal keys land on one
  partition, so a record's events stay in order;
- **value**: the JSON of the event exactly as the webhook sends it inside a batch
  (:func:`connectors.webhook.payload.shape_event`): ``event_id``, ``idempotency_key``, ``item``,
  ``department``, ``operation``, ``record_key``, ``occurred_at``, ``published_at``, ``trace_id``,
  ``record`` (planned fields only, personal ones masked; null for a ``DELETE``), ``masked_fields``;
- **headers**: ``govbus.event_id`` (drop repeats by it: delivery is at least once), ``govbus.item``,
  ``govbus.operation``; never a record's value.

Without a pseudonym key, an item whose keys the subscriber may not see in clear is refused
(:func:`connectors.webhook.unkeyed.refuse_unkeyed`) rather than written with its keys exposed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from connectors.webhook.payload import ShapedEvent, dumps
from schemas.catalogue.profiles import HEADER_EVENT_ID

HEADER_ITEM = "govbus.item"
HEADER_OPERATION = "govbus.operation"


@dataclass(frozen=True)
class DeliveryMessage:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def delivery_message(shaped: ShapedEvent) -> DeliveryMessage:
    """The message of one shaped event (see the module docstring)."""
    body = shaped.body
    headers = [(HEADER_EVENT_ID, str(body["event_id"]).encode()), (HEADER_ITEM, str(body["item"]).encode()),
               (HEADER_OPERATION, str(body["operation"]).encode())]
    return DeliveryMessage(str(body["record_key"]).encode(), dumps(body), headers)


def delivery_partitions(partitions: Mapping[str, int], sources: Iterable[str]) -> int:
    """Partitions of a new delivery topic: as many as the most partitioned source topic that exists, else 1."""
    return max((partitions[topic] for topic in sources if topic in partitions), default=1)
