"""What may be disclosed: the items open to the public, and their records without personal fields.

The catalogue says which items are open (``open_to_public``: public-resource allocation results
such as procurement awards, land-use and mining-right transfers, affordable-housing allocations)
and which of their fields are personal. Every personal field is dropped from what the feed shows,
whatever its masking kind: a masked name or identity number is still personal information, and
the public has no grant.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from govbus.exceptions import ConfigurationError


class OpenItem(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def open_to_public(self) -> bool: ...
    @property
    def personal_fields(self) -> Mapping[str, Any]: ...


def open_items(requested: Iterable[str], catalogue: Any) -> list[Any]:
    """The catalogue items to serve: ``requested`` (each checked to be open), or every open item."""
    everything = list(catalogue)
    opened = [item for item in everything if item.open_to_public]
    wanted = list(dict.fromkeys(requested))
    if not wanted:
        if not opened:
            raise ConfigurationError("the catalogue has no item open to the public: nothing to serve")
        return opened
    items = [catalogue.get(name) for name in wanted]  # UnknownDataItemError names close matches
    closed = [item.name for item in items if not item.open_to_public]
    if closed:
        raise ConfigurationError(
            f"refusing to serve {', '.join(closed)}: not open to the public in the catalogue (open_to_public is "
            f"false); the feed serves only open items: {', '.join(i.name for i in opened) or 'none'}")
    return items


def public_record(item: OpenItem, record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` without the item's personal fields, with JSON values (dates and timestamps as ISO 8601)."""
    personal = item.personal_fields
    return {name: json_value(value) for name, value in record.items() if name not in personal}


def json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def iso(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with milliseconds: ``2026-03-01T08:00:00.000Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
