"""Every topic of the bus as a channel, with the messages it carries.

One channel per concrete topic where the catalogue knows the topic (every item's department, local dialect,
canonical and dead-letter topics, every profile), so each item's own payload, key and registry subject are
in the document; one parameterised channel where the name holds a party only known at run time (a subscriber,
a subscription, a department's grants). Channel ids are the topic names without the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from govbus.asyncapi import payloads
from govbus.asyncapi.roles import TopicKind
from govbus.topic_names import (
    audit_topic,
    canonical_topic,
    dead_letter_topic,
    department_topic,
    profile_topic,
    sources_topic,
    value_subject,
)
from schemas.catalogue.metadata import Department
from schemas.catalogue.model import Catalogue, DataItem
from schemas.catalogue.profiles import ProfileDefinition
from streams.dialects import MappedDialect, local_dialects

Schema = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """One kind of Kafka record: ``payload`` and ``headers`` name component schemas; ``subject`` is the registry
    subject of an Avro value (None: JSON or raw bytes)."""

    id: str
    title: str
    summary: str
    content_type: str
    payload: str
    key: Schema
    headers: str | None = None
    subject: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Channel:
    id: str
    address: str
    kind: TopicKind
    title: str
    description: str
    messages: dict[str, Message]
    item: str | None = None
    parameters: dict[str, Schema] = field(default_factory=dict)
    compacted: bool = False


def item_channels(item: DataItem, prefix: str) -> list[Channel]:
    """The department, local dialect, canonical and dead-letter channels of ``item``."""
    title = f"{item.metadata.title.en} ({item.metadata.title.zh})"
    department = department_topic(item.department, item.name, prefix)
    canonical = canonical_topic(item.name, prefix)
    event = item.event_name
    channels = [
        Channel(_id(department, prefix), department, TopicKind.DEPARTMENT, f"{title}: department events",
                f"Changes of `{item.name}` as {item.department} publishes them, in the canonical schema; only its "
                "principal may write here.",
                {"changeEvent": Message(f"{event}.department", f"{event} (department)", "One change of one record, "
                                        "as the department sent it.", payloads.AVRO_CONTENT_TYPE, event,
                                        payloads.item_key(item), "DepartmentEventHeaders",
                                        value_subject(department))}, item.name),
        *(_local_channel(dialect, title, prefix) for dialect in local_dialects(item.name)),
        Channel(_id(canonical, prefix), canonical, TopicKind.CANONICAL, f"{title}: canonical events",
                f"Validated, normalised changes of `{item.name}`: what subscribers' connectors and the profile "
                "builder read. The envelope is the department event's (same event id, source system, times), the "
                "record canonical.",
                {"changeEvent": Message(f"{event}.canonical", f"{event} (canonical)", "One validated change of one "
                                        "record, its record canonical.", payloads.AVRO_CONTENT_TYPE, event,
                                        payloads.item_key(item), "CanonicalEventHeaders",
                                        value_subject(canonical))}, item.name),
        _dead_letter_channel(item, title, prefix),
    ]
    return channels


def _local_channel(dialect: MappedDialect, title: str, prefix: str) -> Channel:
    address = dialect.topic(prefix)
    schema = local_schema_id(dialect)
    return Channel(_id(address, prefix), address, TopicKind.LOCAL, f"{title}: local dialect {dialect.name}",
                   f"Changes of `{dialect.item.name}` from a local system in its own format ({dialect.description}); "
                   "the normaliser maps them to the canonical record.",
                   {"changeEvent": Message(schema, f"{schema} (local dialect)", "One change of one record, in the "
                                           "local system's field names, formats and codes.",
                                           payloads.AVRO_CONTENT_TYPE, schema,
                                           payloads.text_key("The record key as the local system writes it (the "
                                                             "envelope's `record_key`; made canonical by the "
                                                             "normaliser)."),
                                           subject=value_subject(address))}, dialect.item.name)


def local_schema_id(dialect: MappedDialect) -> str:
    """The component name of a dialect's event schema: ``EnterpriseRegistrationEvent.zhejiang-aic-v2``."""
    return f"{dialect.schema['name']}Event.{dialect.name}"


def _dead_letter_channel(item: DataItem, title: str, prefix: str) -> Channel:
    address = dead_letter_topic(item.name, prefix)
    return Channel(_id(address, prefix), address, TopicKind.DEAD_LETTER, f"{title}: dead letters",
                   f"Records of `{item.name}`'s department and local dialect topics the normaliser rejected: the "
                   "original key and value, untouched (possibly not Avro at all), with why in the headers.",
                   {"deadLetter": Message("DeadLetter", "Dead letter", "A rejected record, its bytes untouched.",
                                          "application/octet-stream", "DeadLetter",
                                          payloads.text_key("The original record's key, untouched."),
                                          "DeadLetterHeaders")}, item.name)


def profile_channel(profile: ProfileDefinition, prefix: str) -> Channel:
    address = profile_topic(profile.name, prefix)
    name = profile.schema["name"]
    items = ", ".join(f"`{item}`" for item in profile.items)
    return Channel(_id(address, prefix), address, TopicKind.PROFILE,
                   f"{profile.metadata.title['en']} ({profile.metadata.title['zh']})",
                   f"{profile.metadata.description} Built from {items}. Compacted: the last value of a key is the "
                   "current profile; a null value (tombstone) says it is gone.",
                   {"profile": Message(name, name, f"The current {profile.name} profile of one "
                                       f"`{profile.key_field}`.", payloads.AVRO_CONTENT_TYPE, name,
                                       payloads.text_key(f"The profile key: its `{profile.key_field}` as UTF-8 text."),
                                       "ProfileEventHeaders", value_subject(address))},
                   compacted=True)


_SUBSCRIBER = {"description": "The subscribing system's slug.", "examples": ["hz-centre"]}
_SUBSCRIPTION = {"description": "The subscription's name.", "examples": ["hz-kafka"]}
_DEPARTMENT = {"description": "The providing department's slug.", "enum": [d.value for d in Department]}


def party_channels(prefix: str) -> list[Channel]:
    """The channels of deliveries, parked deliveries, subscriptions, grants, the audit and the sources."""
    return [*_subscription_channels(prefix), *_control_channels(prefix), *_record_channels(prefix)]


def _subscription_channels(prefix: str) -> list[Channel]:
    """A subscription's delivery topic (Kafka delivery) and its parked deliveries."""
    return [
        Channel("delivery", f"{prefix}.delivery.{{subscriber}}.{{subscription}}", TopicKind.DELIVERY,
                "Deliveries of a Kafka-delivered subscription",
                "The subscription's events, filtered and masked as its grants say, for a subscriber that runs its own "
                "Kafka client: only that subscriber's principal may read it (consumer groups "
                f"`{prefix}.subscriber.<subscriber>.*`). At least once: drop repeats by `govbus.event_id`.",
                {"deliveredEvent": Message("DeliveredEvent", "Delivered event", "One event as the subscriber may see "
                                           "it.", payloads.JSON_CONTENT_TYPE, "DeliveredEvent",
                                           payloads.text_key("The record key as the subscriber may see it: in clear, "
                                                             "or `hmac-sha256:<hex>` (its pseudonym)."),
                                           "DeliveredEventHeaders")},
                parameters={"subscriber": _SUBSCRIBER, "subscription": _SUBSCRIPTION}),
        Channel("dead-letter.subscription", f"{prefix}.dead-letter.subscription.{{subscription}}", TopicKind.PARKED,
                "Parked deliveries of a subscription",
                "Events a subscription's receiver did not take after every retry (replayed with `govbus deliveries "
                "redeliver`), and records its connector could not handle at all.",
                {"parkedEvent": Message("ParkedEvent", "Parked event", "An event the receiver did not take, as it was "
                                        "to receive it.", payloads.JSON_CONTENT_TYPE, "DeliveredEvent",
                                        payloads.text_key("The delivered record key (in clear or a pseudonym)."),
                                        "ParkedEventHeaders"),
                 "parkedRecord": Message("ParkedRecord", "Parked record", "A canonical or profile record the "
                                         "connector could not read or shape, untouched, its own headers kept.",
                                         "application/octet-stream", "ParkedRecord",
                                         payloads.text_key("The original record's key."), "ParkedRecordHeaders")},
                parameters={"subscription": _SUBSCRIPTION}),
    ]


def _control_channels(prefix: str) -> list[Channel]:
    """Each subscriber's subscriptions and each department's grants."""
    return [
        Channel("control.subscriptions", f"{prefix}.control.subscriptions.{{subscriber}}", TopicKind.SUBSCRIPTIONS,
                "A subscriber's subscriptions",
                "Compacted, one partition, written by that subscriber alone: the last value of a key is the "
                "subscription's declaration; a tombstone removes it.",
                {"subscription": Message("Subscription", "Subscription", "One subscription's declaration.",
                                         payloads.JSON_CONTENT_TYPE, "Subscription",
                                         payloads.text_key("The subscription's name."))},
                parameters={"subscriber": _SUBSCRIBER}, compacted=True),
        Channel("control.grants", f"{prefix}.control.grants.{{department}}", TopicKind.GRANTS,
                "A department's grants",
                "Compacted, one partition, written by that department alone: a grant counts only from its approving "
                "department's topic; a revoked grant stays, marked revoked.",
                {"grant": Message("Grant", "Grant", "One grant of one item to one subscriber.",
                                  payloads.JSON_CONTENT_TYPE, "Grant", payloads.text_key("The grant's id."))},
                parameters={"department": _DEPARTMENT}, compacted=True),
    ]


def _record_channels(prefix: str) -> list[Channel]:
    """The delivery audit and the source heartbeats."""
    return [
        Channel(_id(audit_topic(prefix), prefix), audit_topic(prefix), TopicKind.AUDIT, "Delivery audit",
                "Append-only: one record per delivery outcome of one event for one subscription, chained and signed "
                "per connector (`govbus audit verify`).",
                {"auditRecord": Message("AuditRecord", "Audit record", "One event's outcome for one subscription.",
                                        payloads.JSON_CONTENT_TYPE, "AuditRecord",
                                        payloads.text_key("The subscriber's slug."))}),
        Channel(_id(sources_topic(prefix), prefix), sources_topic(prefix), TopicKind.SOURCES, "Source heartbeats",
                "Compacted, one partition, written by the normaliser: when each source last sent an event, and which "
                "items each normaliser reads (`govbus sources silent`). No record value in it.",
                {"lastEvent": Message("LastEvent", "Last event of a source", "The newest event seen from one "
                                      "source.", payloads.JSON_CONTENT_TYPE, "LastEvent",
                                      payloads.text_key("`<department>/<item>/<source system>`.")),
                 "watcher": Message("Watcher", "A normaliser's items", "The items one normaliser reads.",
                                    payloads.JSON_CONTENT_TYPE, "Watcher",
                                    payloads.text_key("`watcher/<normaliser app id>`."))},
                compacted=True),
    ]


def catalogue_channels(catalogue: Catalogue, profiles: list[ProfileDefinition], prefix: str) -> list[Channel]:
    """Every channel: each item's (sorted by item), each profile's, then the parties'."""
    return [*(channel for item in catalogue for channel in item_channels(item, prefix)),
            *(profile_channel(profile, prefix) for profile in profiles), *party_channels(prefix)]


def _id(address: str, prefix: str) -> str:
    return address.removeprefix(f"{prefix}.")
