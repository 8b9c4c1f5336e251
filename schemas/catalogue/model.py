"""The catalogue's Python API: :class:`DataItem` (one shared data item) and :class:`Catalogue`.

    from schemas.catalogue import load_catalogue

    item = load_catalogue().get("enterprise_registration")
    item.sharing_class                  # SharingClass.UNCONDITIONAL
    item.topics().department            # 'govbus.dept.market-regulation.enterprise-registration'
    record = item.validate(raw)         # normalised, ready for Avro; raises ValidationError
    key = item.key_of(record)           # '91110105MA01ABCD2X'
    event = item.event_schema()         # the change-event envelope carrying this item's record

Validation contract (what the Publisher SDK relies on):

- :meth:`DataItem.validate` takes one record as a dict (from a department's system or an Avro
  decoder) and returns a new dict with every field of the item's schema, normalised and ready
  for fastavro / ``AvroSerializer``: dates as :class:`datetime.date`, timestamps as aware
  :class:`datetime.datetime`, enums as their symbol (``str``), optional fields absent from the
  input as ``None`` (or their Avro default), identifiers canonical (half-width, upper case,
  legacy 15-digit identity numbers upgraded to 18). It raises
  :class:`govbus.exceptions.ValidationError` for the first problem: ``field`` is the dotted
  path (``encumbrances.0.kind``), ``rule`` the rule broken (``required``, ``unknown_field``,
  ``uscc.check_character``, ``resident_id.format``, ``date.order``, ...), ``detail`` what is wrong.
- :meth:`DataItem.problems` returns every problem the same way, without raising.
- Neither touches Kafka or the registry.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pydantic
from pydantic_core import ErrorDetails

from govbus.envelope import envelope_schema
from govbus.exceptions import ConfigurationError, UnknownDataItemError, ValidationError
from govbus.topic_names import DEFAULT_PREFIX, ItemTopics, item_topics
from schemas.catalogue.metadata import (
    CompatibilityLevel,
    Department,
    ItemMetadata,
    MaskingKind,
    SharingClass,
)
from schemas.catalogue.models.base import CatalogueRecord
from schemas.catalogue.types import IdentifierKind

KEY_SEPARATOR = "|"

_RULES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_short": "empty",
    "enum": "enum",
    "timezone_aware": "timestamp.timezone",
}


@dataclass(frozen=True, eq=False)
class DataItem:
    """One shared data item: its catalogue metadata, Avro record schema and pydantic model.

    Built by :func:`schemas.catalogue.loader.load_catalogue`; compared by identity.
    """

    metadata: ItemMetadata
    schema: Mapping[str, Any] = field(repr=False)
    model: type[CatalogueRecord] = field(repr=False)
    source: str = field(default="", compare=False)
    """Where the metadata was read from (for messages)."""

    @property
    def name(self) -> str:
        return self.metadata.item

    @property
    def code(self) -> str:
        return self.metadata.code

    @property
    def department(self) -> str:
        """Slug of the owning department (``market-regulation``); ``metadata.department`` is the enum."""
        return self.metadata.department.value

    @property
    def sharing_class(self) -> SharingClass:
        return self.metadata.sharing_class

    @property
    def open_to_public(self) -> bool:
        return self.metadata.open_to_public

    @property
    def key_fields(self) -> tuple[str, ...]:
        return tuple(self.metadata.key_fields)

    @property
    def personal_fields(self) -> dict[str, MaskingKind]:
        """Personal field paths (``owner_name``, ``encumbrances[].holder``) and how each is masked."""
        return dict(self.metadata.personal_fields)

    @property
    def not_personal_fields(self) -> tuple[str, ...]:
        """Field paths classified not personal: the only ones sent in clear without a grant's ``unmasked``, and
        the only ones the public feed discloses (default-deny: any other path is treated as personal)."""
        return tuple(self.metadata.not_personal_fields)

    @property
    def identifier_fields(self) -> dict[str, IdentifierKind]:
        return dict(self.metadata.identifier_fields)

    @property
    def compatibility(self) -> CompatibilityLevel:
        return self.metadata.compatibility

    @property
    def record_schema(self) -> dict[str, Any]:
        """The item's Avro record schema (a fresh copy: change it freely)."""
        return copy.deepcopy(dict(self.schema))

    @property
    def event_name(self) -> str:
        """Name of the change-event record, e.g. ``EnterpriseRegistrationEvent``."""
        return f"{self.schema['name']}Event"

    def event_schema(self) -> dict[str, Any]:
        """The change-event envelope (:func:`govbus.envelope.envelope_schema`) carrying this item's record."""
        return envelope_schema(self.record_schema, self.event_name)

    def event_schema_str(self) -> str:
        """:meth:`event_schema` as the JSON text registered in the schema registry."""
        return json.dumps(self.event_schema(), ensure_ascii=False, sort_keys=False)

    def topics(self, prefix: str = DEFAULT_PREFIX) -> ItemTopics:
        """Department, canonical and dead-letter topics (see :mod:`govbus.topic_names`)."""
        return item_topics(self.department, self.name, prefix)

    def key_of(self, record: Mapping[str, Any]) -> str:
        """The record key: the key fields' values joined with ``|`` (dates as ISO dates).

        Raises :class:`ValidationError` when a key field is missing or null, or its value
        contains the separator.
        """
        parts = []
        for name in self.key_fields:
            value = record.get(name)
            if value is None:
                raise ValidationError(name, "required", f"key field of {self.name} is missing or null")
            text = _key_text(value)
            if KEY_SEPARATOR in text:
                raise ValidationError(name, "key.separator", f"the key value contains {KEY_SEPARATOR!r}")
            parts.append(text)
        return KEY_SEPARATOR.join(parts)

    def problems(self, record: Mapping[str, Any]) -> list[ValidationError]:
        """Every problem of ``record``, each naming its field and rule; empty if it is valid."""
        try:
            self.model.model_validate(record)
        except pydantic.ValidationError as error:
            return [_to_validation_error(detail) for detail in error.errors(include_url=False)]
        return []

    def validate(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """``record`` normalised and ready for Avro; :class:`ValidationError` for the first problem."""
        if not isinstance(record, Mapping):
            raise ValidationError("record", "type", f"a {self.name} record is a mapping, got {type(record).__name__}")
        try:
            parsed = self.model.model_validate(record)
        except pydantic.ValidationError as error:
            raise _to_validation_error(error.errors(include_url=False)[0]) from None
        return parsed.model_dump(mode="python")


def _key_text(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _to_validation_error(detail: ErrorDetails) -> ValidationError:
    context = detail.get("ctx") or {}
    path = ".".join(str(part) for part in detail["loc"]) or str(context.get("field") or "record")
    rule = _RULES.get(detail["type"], detail["type"])
    if "reason" in context:
        message = str(context["reason"])
    elif rule == "required":
        message = "is required"
    elif rule == "unknown_field":
        message = "is not a field of this data item"
    else:
        shown = repr(detail["input"])
        message = f"{detail['msg']} (got {shown[:80]}{'...' if len(shown) > 80 else ''})"
    return ValidationError(path, rule, message)


class Catalogue:
    """All data items, by name."""

    def __init__(self, items: Iterable[DataItem]) -> None:
        self._items = {item.name: item for item in sorted(items, key=lambda i: i.name)}

    def get(self, name: str) -> DataItem:
        """The item called ``name``; :class:`UnknownDataItemError` (with close matches) if none."""
        try:
            return self._items[name]
        except KeyError:
            known = self.names()
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
            raise UnknownDataItemError(name, known, close) from None

    def items(self) -> list[DataItem]:
        """Every item, sorted by name."""
        return list(self._items.values())

    def names(self) -> list[str]:
        return list(self._items)

    def owned_by(self, department: str | Department) -> list[DataItem]:
        """The items ``department`` (a slug such as ``natural-resources``) provides."""
        try:
            wanted = Department(department)
        except ValueError:
            known = ", ".join(d.value for d in Department)
            raise ConfigurationError(f"no department {department!r}; known departments: {known}") from None
        return [item for item in self._items.values() if item.metadata.department is wanted]

    def __iter__(self) -> Iterator[DataItem]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items
