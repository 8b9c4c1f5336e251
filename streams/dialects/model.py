"""What a dialect is, and what normalising one of its records returns.

A **dialect** is how one local system sends a catalogue data item: its own field names
(``qymc``, ``tyshxydm``, ``GMSFHM``), date formats, codes, units and text habits, as an Avro
record schema of (mostly nullable) strings. ``normalise(raw)`` maps one of its records to the
item's canonical record, validates it with the item's rules, and says what it changed: a
:class:`Normalised` with the record and its :class:`Fix` list. A record that cannot be made
canonical raises :class:`govbus.exceptions.ValidationError` naming the *canonical* field and
the rule.

The department topic is a dialect too (:class:`IdentityDialect`): its records are already
canonical, and are still validated; the fixes are whatever validation itself changed.
"""

from __future__ import annotations

import json
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

import pydantic

from govbus.envelope import envelope_schema
from govbus.exceptions import ValidationError
from govbus.identifiers import ascii_digits, upgrade_legacy_id
from govbus.topic_names import DEFAULT_PREFIX, department_topic, local_topic
from schemas.catalogue import DataItem, IdentifierKind, load_catalogue
from schemas.catalogue.model import KEY_SEPARATOR
from schemas.catalogue.types import DivisionCode, ResidentId, Uscc, text_problem

FIXES_HEADER = "govbus.fixes"
"""Header of a canonical event listing the fixes (JSON list of objects)."""
DIALECT_HEADER = "govbus.dialect"
"""Header of a canonical event naming the dialect its record came in."""


class FixKind(StrEnum):
    """Kinds of changes a normaliser makes to a record."""

    RENAMED = "renamed"
    """A local field name became the canonical one (before/after: the two names)."""
    DATE_FORMAT = "date_format"
    """``2017/5/18``, ``20170518``, ``2017年5月18日``, ``2017.05.18`` became ``2017-05-18``."""
    TIMESTAMP_FORMAT = "timestamp_format"
    """``20240305142210`` or ``2024/3/5 14:22:10`` became an ISO timestamp."""
    TIMEZONE_ASSUMED = "timezone_assumed"
    """A local time without offset was read as Beijing time (+08:00)."""
    FULL_WIDTH = "full_width"
    """Full-width digits, letters or spaces (``９１３３``) became half-width."""
    WHITESPACE = "whitespace"
    """Stray spaces were removed (padding, spaces inside codes or between Chinese characters)."""
    CASE = "case"
    """Lower-case letters of a code became upper case (``x`` -> ``X``)."""
    LEGACY_ID_UPGRADED = "legacy_id_upgraded"
    """A legacy 15-digit resident identity number became 18 characters."""
    LEGACY_REGISTRATION_NUMBER = "legacy_registration_number"
    """A legacy 15-digit enterprise registration number (注册号) was dropped; the USCC stays."""
    AMOUNT_UNIT = "amount_unit"
    """An amount in yuan (``12,345.60``) or ten-thousand yuan (万元) became fen."""
    AREA_UNIT = "area_unit"
    """An area in square metres became square decimetres."""
    CODE_MAPPED = "code_mapped"
    """A local code or label (``1``, ``男``, ``存续``, ``长期``) became the canonical value."""
    EMPTY_TO_NULL = "empty_to_null"
    """An empty or blank string became null."""
    SPLIT = "split"
    """One local field was split into canonical fields (``2015.03.01-2035.03.01``)."""
    DERIVED = "derived"
    """A canonical field the dialect does not send was derived from another field."""
    CANONICALISED = "canonicalised"
    """Any other change made by the item's own validation."""


class Fix(NamedTuple):
    """One change: the canonical ``field`` (dotted for nested ones), its ``kind``, the value before and after.

    A named tuple rather than a dataclass: a record collects a dozen or more, on the hot path.
    """

    field: str
    kind: FixKind
    before: str | None
    after: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"field": self.field, "kind": self.kind.value, "before": self.before, "after": self.after}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Fix:
        return cls(str(value["field"]), FixKind(value["kind"]), value.get("before"), value.get("after"))


def fixes_header(fixes: Iterable[Fix]) -> bytes:
    """The ``govbus.fixes`` header value: a JSON list of fixes (UTF-8, Chinese kept readable)."""
    return json.dumps([fix.to_json() for fix in fixes], ensure_ascii=False, separators=(",", ":")).encode()


def fixes_from_header(value: bytes | str) -> list[Fix]:
    """Read a ``govbus.fixes`` header back."""
    return [Fix.from_json(entry) for entry in json.loads(value)]


@dataclass(frozen=True)
class Normalised:
    """A canonical record (validated, ready for Avro) and what was changed to get it."""

    record: dict[str, Any]
    fixes: tuple[Fix, ...]

    @property
    def changed(self) -> bool:
        return bool(self.fixes)

    def kinds(self) -> set[FixKind]:
        return {fix.kind for fix in self.fixes}


class Dialect(ABC):
    """How one system sends one data item; see the module docstring."""

    name: str
    item: DataItem
    description: str

    @property
    def department(self) -> str:
        return self.item.department

    @property
    @abstractmethod
    def schema(self) -> dict[str, Any]:
        """The Avro record schema of this dialect's records."""

    @abstractmethod
    def topic(self, prefix: str = DEFAULT_PREFIX) -> str:
        """The topic records in this dialect arrive on."""

    @abstractmethod
    def normalise(self, raw: Mapping[str, Any]) -> Normalised:
        """The canonical record of ``raw``; :class:`ValidationError` naming the canonical field if impossible."""

    def event_schema(self) -> dict[str, Any]:
        """The change-event envelope carrying this dialect's records."""
        return envelope_schema(self.schema, f"{self.schema['name']}Event")

    def canonical_key(self, record_key: str) -> str:
        """The canonical key of a DELETE event's ``record_key`` (no record to normalise).

        Identifier key fields are cleaned (half-width, no spaces, upper case; a legacy 15-digit
        identity number upgraded) and checked; other keys are trimmed, and refused when they hold a
        control character (``text.control_character``, as text fields are) or, for a key of several
        fields, when the number of ``|``-separated parts is not the number of key fields (``key.parts``).
        """
        fields = self.item.key_fields
        if len(fields) != 1:
            key = record_key.strip()
            parts = key.split(KEY_SEPARATOR)
            if len(parts) != len(fields):
                raise ValidationError("record_key", "key.parts", f"has {len(parts)} part(s) separated by "
                                      f"{KEY_SEPARATOR!r}; the key of {self.item.name} is {' | '.join(fields)}")
            _plain_key("record_key", key)
            return key
        return canonical_key_value(self.item, fields[0], record_key)


def canonical_key_value(item: DataItem, field: str, value: str) -> str:
    """``value`` of key field ``field`` made canonical and checked (see :meth:`Dialect.canonical_key`).

    Identifier keys go through the catalogue's own identifier types, so they are cleaned and
    checked exactly as record fields are, with the same rules (``uscc.check_character``, ...).
    """
    kind = item.identifier_fields.get(field)
    adapter = None if kind is None else _IDENTIFIER_ADAPTERS.get(kind)
    if adapter is None:
        key = value.strip()
        if not key:
            raise ValidationError(field, "required", "the event's record key is empty")
        return _plain_key(field, key)
    try:
        return str(adapter.validate_python(value))
    except pydantic.ValidationError as error:
        detail = error.errors(include_url=False)[0]
        reason = (detail.get("ctx") or {}).get("reason", detail["msg"])
        raise ValidationError(field, detail["type"], f"record key: {reason}") from None


def _plain_key(field: str, key: str) -> str:
    """``key`` if it holds no character a text field may not hold (see :func:`schemas.catalogue.types.text_problem`)."""
    problem = text_problem(key)
    if problem is not None:
        raise ValidationError(field, problem[0], f"record key: {problem[1]}")
    return key


_IDENTIFIER_ADAPTERS: dict[IdentifierKind, pydantic.TypeAdapter[str]] = {
    IdentifierKind.USCC: pydantic.TypeAdapter(Uscc),
    IdentifierKind.RESIDENT_ID: pydantic.TypeAdapter(ResidentId),
    IdentifierKind.DIVISION_CODE: pydantic.TypeAdapter(DivisionCode),
}


class IdentityDialect(Dialect):
    """The department topic: records already in the canonical schema, validated all the same."""

    def __init__(self, item: DataItem) -> None:
        self.item = item
        self.name = "canonical"
        self.description = f"the canonical {item.name} schema on the department topic"

    @property
    def schema(self) -> dict[str, Any]:
        return self.item.record_schema

    def event_schema(self) -> dict[str, Any]:
        return self.item.event_schema()

    def topic(self, prefix: str = DEFAULT_PREFIX) -> str:
        return department_topic(self.item.department, self.item.name, prefix)

    def normalise(self, raw: Mapping[str, Any]) -> Normalised:
        record = self.item.validate(raw)
        identifiers = self.item.identifier_fields
        fixes: list[Fix] = []
        for field, after in record.items():
            before = raw.get(field)
            if before != after:
                fixes.extend(classify_change(field, before, after, field in identifiers))
        return Normalised(record, tuple(fixes))


def classify_change(field: str, before: Any, after: Any, identifier: bool) -> list[Fix]:
    """The fixes that explain how validation turned ``before`` into ``after``.

    For strings the steps validation takes are replayed (full-width, whitespace, case, legacy
    upgrade for identifiers; surrounding whitespace for text); anything else is one
    :attr:`FixKind.CANONICALISED` fix.
    """
    if isinstance(before, str) and isinstance(after, str):
        steps = _identifier_steps(field, before) if identifier else _text_steps(field, before)
        if steps and steps[-1].after == after:
            return steps
    return [Fix(field, FixKind.CANONICALISED, _shown(before), _shown(after))]


def _identifier_steps(field: str, value: str) -> list[Fix]:
    steps: list[Fix] = []
    current = value
    for kind, step in ((FixKind.FULL_WIDTH, lambda v: unicodedata.normalize("NFKC", v)),
                       (FixKind.WHITESPACE, lambda v: "".join(v.split())),
                       (FixKind.CASE, str.upper),
                       (FixKind.LEGACY_ID_UPGRADED,
                        lambda v: upgrade_legacy_id(v) if len(v) == 15 and ascii_digits(v) else v)):
        changed = step(current)
        if changed != current:
            steps.append(Fix(field, kind, current, changed))
            current = changed
    return steps


def _text_steps(field: str, value: str) -> list[Fix]:
    stripped = value.strip()
    return [Fix(field, FixKind.WHITESPACE, value, stripped)] if stripped != value else []


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def local_dialect_topic(dialect: Dialect, prefix: str) -> str:
    """``<prefix>.local.<department>.<item>.<dialect>`` (see :func:`govbus.topic_names.local_topic`)."""
    return local_topic(dialect.department, dialect.item.name, dialect.name, prefix)


def catalogue_item(name: str) -> DataItem:
    return load_catalogue().get(name)
