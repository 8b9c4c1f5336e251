"""What a subscriber reads from its delivery topic, and which events may be written there at all.

One Kafka message per delivered event:

- **key**: the record key as the subscriber may see it (``record_key`` of the value): in clear when
  every key field is planned for it unmasked, else ``hmac-sha256:<hex>``, a pseudonym keyed by the
  platform's pseudonym key. Equal keys land on one partition, so a record's events stay in order;
- **value**: the JSON of the event exactly as the webhook sends it inside a batch
  (:func:`connectors.webhook.payload.shape_event`): ``event_id``, ``idempotency_key``, ``item``,
  ``department``, ``operation``, ``record_key``, ``occurred_at``, ``published_at``, ``trace_id``,
  ``record`` (planned fields only, personal ones masked; null for a ``DELETE``), ``masked_fields``;
- **headers**: ``govbus.event_id`` (drop repeats by it: delivery is at least once), ``govbus.item``,
  ``govbus.operation``; never a record's value.

Without a pseudonym key, an item whose keys the subscriber may not see in clear is refused
(:func:`refuse_unkeyed`) rather than written with its keys exposed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from connectors.webhook.payload import ShapedEvent, dumps, key_in_clear
from connectors.webhook.plans import Authorisation, Decision
from schemas.catalogue.profiles import HEADER_EVENT_ID

HEADER_ITEM = "govbus.item"
HEADER_OPERATION = "govbus.operation"
PSEUDONYM_KEY_VARIABLE = "GOVBUS_KAFKA_DELIVERY_PSEUDONYM_KEY"


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


def unkeyed_reason(decision: Decision) -> str:
    return (f"the record keys of {decision.item} are not for this subscriber to see in clear (key field "
            f"{', '.join(decision.key_fields)} masked or not asked for), and no pseudonym key is set "
            f"({PSEUDONYM_KEY_VARIABLE}): its events are not written")


def refuse_unkeyed(authorisation: Authorisation, has_pseudonym_key: bool) -> Authorisation:
    """``authorisation``, with every planned item whose record keys would need a pseudonym refused when there is
    no key to make one with (the same object when nothing changes)."""
    if has_pseudonym_key:
        return authorisation
    decisions = {item: Decision(item, None, unkeyed_reason(d))
                 if d.plan is not None and not key_in_clear(d.plan, d.key_fields) else d
                 for item, d in authorisation.decisions.items()}
    if decisions == authorisation.decisions:
        return authorisation
    return dataclasses.replace(authorisation, decisions=decisions)


def delivery_partitions(partitions: Mapping[str, int], sources: Iterable[str]) -> int:
    """Partitions of a new delivery topic: as many as the most partitioned source topic that exists, else 1."""
    return max((partitions[topic] for topic in sources if topic in partitions), default=1)
