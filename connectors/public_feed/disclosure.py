"""What may be disclosed: the items open to the public, and of their records only the fields that are not personal.

The catalogue says which items are open (``open_to_public``: public-resource allocation results
such as procurement awards, land-use and mining-right transfers, affordable-housing allocations)
and classifies every field. The feed discloses by allowlist: only the field paths the catalogue
classifies not personal (``not_personal_fields``, nested ones walked into) are shown; everything
else is left out. A personal field is left out whatever its masking kind (a masked name or identity
number is still personal information, and the public has no grant), and so is a field the catalogue
does not know, such as one a newer writer schema added before the catalogue classified it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Protocol

from govbus.exceptions import ConfigurationError
from schemas.catalogue.classification import containers_of

_LEFT_OUT = object()


class OpenItem(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def open_to_public(self) -> bool: ...
    @property
    def not_personal_fields(self) -> Collection[str]: ...


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
    """Only the fields of ``record`` the catalogue classifies not personal, with JSON values (dates and
    timestamps as ISO 8601)."""
    allowed = frozenset(item.not_personal_fields)
    containers = containers_of(allowed)
    return _allowed_fields(record, "", allowed, containers)


def _allowed_fields(record: Mapping[str, Any], prefix: str, allowed: frozenset[str],
                    containers: frozenset[str]) -> dict[str, Any]:
    kept = {}
    for name, value in record.items():
        shown = _allowed(f"{prefix}{name}", value, allowed, containers)
        if shown is not _LEFT_OUT:
            kept[str(name)] = shown
    return kept


def _allowed(path: str, value: Any, allowed: frozenset[str], containers: frozenset[str]) -> Any:
    """``value`` at ``path`` as JSON if the allowlist lets it out, else :data:`_LEFT_OUT`."""
    if path in allowed:
        return json_value(value)
    if path not in containers:
        return _LEFT_OUT
    if value is None:
        return None
    if isinstance(value, Mapping):
        return _allowed_fields(value, f"{path}.", allowed, containers)
    if isinstance(value, list | tuple):
        inside = (_allowed(f"{path}[]", inner, allowed, containers) for inner in value)
        return [shown for shown in inside if shown is not _LEFT_OUT]
    return _LEFT_OUT


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
