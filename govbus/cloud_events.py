"""CloudEvents attributes as Kafka headers: the Kafka protocol binding of CloudEvents 1.0, binary content mode.

Every event on a department, canonical or profile topic carries them, so generic event tooling (any CloudEvents
SDK's Kafka binding, Knative, event gateways) reads govbus events without knowing the envelope. The value stays
as it is (the Avro envelope or profile); the headers repeat what the envelope says, as UTF-8 text:

==================  ==========================================================  ==================================
header              change event (department and canonical topics)               profile event (profile topics)
==================  ==========================================================  ==================================
``ce_specversion``  ``1.0``                                                      ``1.0``
``ce_id``           the envelope's ``event_id``                                  the profile event's id (uuid5 of
                                                                                 profile, key and causing event)
``ce_source``       ``/govbus/<department>/<source_system>``                     ``/govbus/profiles/<profile>``
``ce_type``         ``gov.govbus.<data_item>.<operation>`` (``upsert``,          ``gov.govbus.profile.<profile>``
                    ``delete``), e.g. ``gov.govbus.enterprise_registration.``    ``.updated``, or ``.deleted`` on a
                    ``upsert``                                                   tombstone
``ce_time``         the envelope's ``occurred_at`` (when the change happened     the causing change's
                    in the source system; ``published_at`` is when govbus took   ``occurred_at``
                    it), RFC 3339 in UTC with milliseconds, as Avro keeps it
``ce_subject``      the envelope's ``record_key`` (also the Kafka message key)   the profile key (the message key)
``ce_dataschema``   ``<registry URL>/schemas/ids/<id>``: the registry's route    the same, for the profile schema
                    for the writer schema of the value                           (absent on a tombstone)
``content-type``    ``application/avro; schema="<the same URL>"``                the same (absent on a tombstone)
==================  ==========================================================  ==================================

Choices, and why:

- ``ce_time`` is ``occurred_at``: CloudEvents defines ``time`` as when the occurrence happened, which is the
  source system's change, not govbus's acceptance of it.
- ``ce_source`` names the department and its system as a URI-reference (each name percent-encoded, so a ``/`` in
  a name cannot add a path segment); ``source`` plus ``id`` is unique per change, as CloudEvents asks. The
  canonical event of a change keeps the department event's id, source and type: it is the same occurrence,
  normalised, and a consumer that reads both may treat them as duplicates, which they are.
- ``content-type`` is ``application/avro`` (the binding's own example) with the schema named in a quoted
  ``schema`` parameter, and ``ce_dataschema`` names it again as the attribute CloudEvents defines for it. The
  value is in the Confluent wire format: a zero byte and the 4-byte schema id (the same id) before the Avro
  binary body. The registry URL is the producer's ``GOVBUS_REGISTRY__URL`` (without any user information).
- ``ce_subject`` is the record key, which for person-keyed items is a resident identity number: the same value,
  to the same readers, as the Kafka key the record already has. It is never logged here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit, urlunsplit

SPECVERSION = "1.0"
TYPE_PREFIX = "gov.govbus"
MEDIA_TYPE = "application/avro"
CONTENT_TYPE_HEADER = "content-type"
PREFIX = "ce_"

Headers = list[tuple[str, bytes]]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MILLISECOND = dt.timedelta(milliseconds=1)


class Attributes(NamedTuple):
    """The CloudEvents attributes of one event (the required ones, ``time``, ``subject`` and ``dataschema``).
    (A named tuple: one is made per event on the Publisher's hot path, and a frozen dataclass costs more.)"""

    id: str
    source: str
    type: str
    time: str
    subject: str
    dataschema: str | None = None
    """None: the event has no data (a tombstone), so neither ``ce_dataschema`` nor ``content-type``."""

    def headers(self) -> Headers:
        """The Kafka headers of the binary content mode (values UTF-8)."""
        headers: Headers = [
            ("ce_specversion", SPECVERSION.encode()), ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()), ("ce_type", self.type.encode()),
            ("ce_time", self.time.encode()), ("ce_subject", self.subject.encode()),
        ]
        if self.dataschema is not None:
            headers.append(("ce_dataschema", self.dataschema.encode()))
            headers.append((CONTENT_TYPE_HEADER, content_type(self.dataschema).encode()))
        return headers


@lru_cache(maxsize=1024)  # a handful of values, asked for once per event
def change_event_type(data_item: str, operation: str) -> str:
    """``ce_type`` of a change: ``gov.govbus.<item>.<operation in lower case>``."""
    return f"{TYPE_PREFIX}.{data_item}.{operation.lower()}"


@lru_cache(maxsize=1024)  # a handful of values, asked for once per event
def change_source(department: str, source_system: str) -> str:
    """``ce_source`` of a change: ``/govbus/<department>/<source system>`` (each part percent-encoded)."""
    return f"/govbus/{_segment(department)}/{_segment(source_system)}"


def profile_event_type(profile: str, deleted: bool) -> str:
    """``ce_type`` of a profile event: ``gov.govbus.profile.<profile>.updated`` (``.deleted``: a tombstone)."""
    return f"{TYPE_PREFIX}.profile.{profile}.{'deleted' if deleted else 'updated'}"


def profile_source(profile: str) -> str:
    """``ce_source`` of a profile event: ``/govbus/profiles/<profile>``."""
    return f"/govbus/profiles/{_segment(profile)}"


@lru_cache(maxsize=1024)  # a handful of values, asked for once per event
def schema_reference(registry_url: str, schema_id: int) -> str:
    """The registry's URL of schema ``schema_id`` (``GET /schemas/ids/<id>``), without user information."""
    parts = urlsplit(registry_url.rstrip("/"))
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, f"{parts.path}/schemas/ids/{schema_id}", "", ""))


def content_type(dataschema: str) -> str:
    """The ``content-type`` of a value written with the schema at ``dataschema``."""
    return f'{MEDIA_TYPE}; schema="{dataschema}"'


def rfc3339(value: dt.datetime | int) -> str:
    """A timestamp (a datetime, or epoch milliseconds) as RFC 3339 in UTC with milliseconds, e.g.
    ``2026-01-02T03:04:05.678Z``: the precision of the envelope's Avro ``timestamp-millis``, so the header and
    the decoded envelope say the same instant. A naive datetime is local time, as fastavro encodes it."""
    if isinstance(value, int):
        value = _EPOCH + value * _MILLISECOND
    elif value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    # isoformat truncates to the millisecond, as fastavro's encoding does
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00" -> "Z"


def change_attributes(event: Mapping[str, Any], dataschema: str | None) -> Attributes:
    """The attributes of a change event: ``event`` is the envelope as an Avro dict (:meth:`ChangeEvent.to_avro`,
    or as decoded, with or without logical types)."""
    return Attributes(
        id=str(event["event_id"]),
        source=change_source(str(event["department"]), str(event["source_system"])),
        type=change_event_type(str(event["data_item"]), str(event["operation"])),
        time=rfc3339(event["occurred_at"]),
        subject=str(event["record_key"]),
        dataschema=dataschema,
    )


def change_headers(event: Mapping[str, Any], registry_url: str, schema_id: int) -> Headers:
    """The CloudEvents headers of a change event encoded with schema ``schema_id`` of the registry at
    ``registry_url``."""
    return change_attributes(event, schema_reference(registry_url, schema_id)).headers()


def _segment(name: str) -> str:
    return quote(name, safe="")
