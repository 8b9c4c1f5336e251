"""The Kafka headers of each kind of govbus message, as AsyncAPI schemas (every header value is UTF-8 text).

Header names come from the code that writes them (the constants of :mod:`streams.dialects`,
:mod:`streams.dead_letters`, :mod:`schemas.catalogue.profiles`, :mod:`connectors.kafka_delivery.messages`,
:mod:`connectors.webhook.payload`); what each means is written here, once. A header the code writes and this
module does not describe fails ``tests/unit/asyncapi`` (the live test also compares the headers of real records).

The CloudEvents attributes (``ce_*`` and ``content-type``, :mod:`govbus.cloud_events`) travel on the
department, canonical and profile topics: the Kafka protocol binding of CloudEvents 1.0 in binary mode.
"""

from __future__ import annotations

from typing import Any

from connectors.kafka_delivery.messages import HEADER_ITEM, HEADER_OPERATION
from connectors.webhook.payload import PARKED_CONTENT_HEADER, PARKED_SHAPED
from schemas.catalogue.profiles import HEADER_CAUSED_BY, HEADER_EVENT_ID
from streams.dead_letters import DeadLetter
from streams.dialects import DIALECT_HEADER, FIXES_HEADER

Schema = dict[str, Any]

_DATASCHEMA = ("`<registry URL>/schemas/ids/<id>`: the writer schema of the value in the schema registry "
               "(the same id as in the value's 5-byte header).")
_CONTENT_TYPE = "`application/avro; schema=\"<the ce_dataschema URL>\"`."
CLOUD_EVENTS_CHANGE: dict[str, str] = {
    "ce_specversion": "CloudEvents version: `1.0`.",
    "ce_id": "The envelope's `event_id` (the canonical event keeps the department event's).",
    "ce_source": "`/govbus/<department>/<source system>`, each part percent-encoded.",
    "ce_type": "`gov.govbus.<data_item>.upsert` or `gov.govbus.<data_item>.delete`.",
    "ce_time": "When the change happened in the source system (the envelope's `occurred_at`), RFC 3339 in UTC "
               "with milliseconds.",
    "ce_subject": "The envelope's `record_key`, the same as the Kafka key.",
    "ce_dataschema": _DATASCHEMA,
    "content-type": _CONTENT_TYPE,
}
"""The CloudEvents headers (:mod:`govbus.cloud_events`) of a change event: department and canonical topics."""
CLOUD_EVENTS_PROFILE: dict[str, str] = {
    "ce_specversion": "CloudEvents version: `1.0`.",
    "ce_id": "The profile event's id (the same as `govbus.event_id`).",
    "ce_source": "`/govbus/profiles/<profile>`.",
    "ce_type": "`gov.govbus.profile.<profile>.updated`, or `.deleted` on a tombstone.",
    "ce_time": "When the causing change happened in the source system, RFC 3339 in UTC with milliseconds.",
    "ce_subject": "The profile key, the same as the Kafka key.",
    "ce_dataschema": f"{_DATASCHEMA} Absent on a tombstone.",
    "content-type": f"{_CONTENT_TYPE} Absent on a tombstone.",
}
"""The CloudEvents headers of a profile event."""
CLOUD_EVENTS_OPTIONAL = frozenset({"ce_dataschema", "content-type"})
"""Absent on a profile tombstone (no data, so no schema)."""

NORMALISER: dict[str, str] = {
    FIXES_HEADER: "JSON list of what the normaliser changed to make the record canonical: "
                  "`[{\"field\", \"kind\", \"before\", \"after\"}]` (`[]` if nothing; personal values masked). Kinds: "
                  "`renamed`, `date_format`, `timestamp_format`, `timezone_assumed`, `full_width`, `whitespace`, "
                  "`case`, `legacy_id_upgraded`, `legacy_registration_number`, `amount_unit`, `area_unit`, "
                  "`code_mapped`, `empty_to_null`, `split`, `derived`, `canonicalised`.",
    DIALECT_HEADER: "The dialect the record arrived in: `canonical` (the department topic) or a local dialect "
                    "(`zhejiang-aic-v2`, ...).",
}

_DEAD_LETTER = {
    "reason": "Why the record was rejected (human-readable; no record value in it).",
    "field": "The canonical field at fault, dotted for nested ones (empty when none).",
    "rule": "The rule broken: `required`, `uscc.check_character`, `wire_format`, `envelope`, ... (empty when none).",
    "stage": "Where it failed: `decode` (not Avro, unknown schema id, not an envelope), `validate` or `encode`.",
    "source.topic": "The topic the record was read from (a department or local dialect topic).",
    "source.partition": "Its partition there (decimal).",
    "source.offset": "Its offset there (decimal).",
    "failed_at": "When it was rejected (ISO 8601, UTC).",
}
DEAD_LETTER_EXTRA: dict[str, str] = {
    "govbus.dlq.event_id": "The envelope's `event_id` when it could be read (empty otherwise).",
    DIALECT_HEADER: "The dialect of the source topic (`canonical` or a local dialect).",
}

PROFILE: dict[str, str] = {
    HEADER_EVENT_ID: "The profile event's id: the same on every re-emit of one change (drop repeats by it).",
    HEADER_CAUSED_BY: "The `event_id` of the canonical event that caused this profile version.",
}

DELIVERY: dict[str, str] = {
    HEADER_EVENT_ID: "The event id (= `event_id` = `idempotency_key` of the value): delivery is at least once, "
                     "drop repeats by it.",
    HEADER_ITEM: "The data item, or `profile:<name>`.",
    HEADER_OPERATION: "`UPSERT` or `DELETE`.",
}

PARKED_SHAPED_HEADERS: dict[str, str] = {
    "govbus.parked.reason": "Why the receiver did not take it (the last attempt's answer).",
    "govbus.parked.subscription": "The subscription.",
    "govbus.parked.attempts": "How many deliveries were tried (decimal).",
    "govbus.parked.event_id": "The event id.",
    "govbus.parked.source.topic": "The canonical or profile topic the event was read from.",
    "govbus.parked.source.partition": "Its partition there (decimal).",
    "govbus.parked.source.offset": "Its offset there (decimal).",
    PARKED_CONTENT_HEADER: f"`{PARKED_SHAPED.decode()}`: the value is the event as the subscriber was to receive it.",
}

PARKED_BAD_RECORD: dict[str, str] = {
    "govbus.dlq.reason": "Why the connector could not handle the record (it could not be read or shaped).",
    "govbus.dlq.sink": "The connector (sink) that parked it.",
    "govbus.dlq.source": "Where it was read: `<topic>[<partition>]@<offset>`.",
}
"""Headers the sink runtime (:mod:`consumers.sink`, policy ``park``) adds to a record it cannot handle; the
record's own headers (the canonical event's) are kept before them."""


def dead_letter_headers() -> dict[str, str]:
    """Every dead-letter header, in the order the normaliser writes them."""
    names = [name for name, _ in DeadLetter("", "", "", 0, 0).headers()]
    described = {f"govbus.dlq.{name}": text for name, text in _DEAD_LETTER.items()}
    return {**{name: described[name] for name in names}, **DEAD_LETTER_EXTRA}


def headers_schema(title: str, described: dict[str, str], optional: frozenset[str] = frozenset()) -> Schema:
    """An AsyncAPI schema of a header set: an object of strings, each described, all required but ``optional``."""
    return {
        "type": "object",
        "title": title,
        "properties": {name: {"type": "string", "description": text} for name, text in described.items()},
        "required": [name for name in described if name not in optional],
    }


def header_components() -> dict[str, Schema]:
    """The header schemas every message refers to, by component name."""
    return {
        "DepartmentEventHeaders": headers_schema("headers of a department event", CLOUD_EVENTS_CHANGE),
        "CanonicalEventHeaders": headers_schema("headers of a canonical event", {**NORMALISER, **CLOUD_EVENTS_CHANGE}),
        "DeadLetterHeaders": headers_schema("headers of a dead letter", dead_letter_headers()),
        "ProfileEventHeaders": headers_schema("headers of a profile event", {**PROFILE, **CLOUD_EVENTS_PROFILE},
                                              CLOUD_EVENTS_OPTIONAL),
        "DeliveredEventHeaders": headers_schema("headers of a delivered event", DELIVERY),
        "ParkedEventHeaders": headers_schema("headers of a parked delivery", PARKED_SHAPED_HEADERS),
        "ParkedRecordHeaders": headers_schema("headers of a record a connector could not handle",
                                              PARKED_BAD_RECORD),
    }
