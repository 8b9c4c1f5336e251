"""Reusable annotated types for the catalogue's pydantic models.

The identifier types normalise before they check (so a record is returned canonical):

- full-width characters become half-width (Unicode NFKC), whitespace anywhere is removed and
  letters are upper-cased (``９１１１０１０５ ...`` -> ``91110105...``, a trailing ``x`` -> ``X``);
- :data:`ResidentId` upgrades a legacy 15-digit number to 18 characters with its check character;
- then the check of :mod:`govbus.identifiers` runs.

A failed check is a pydantic error whose ``type`` is the rule broken (``uscc.check_character``,
``uscc.format``, ``uscc.division``, ``resident_id.format``, ``resident_id.birth_date``,
``resident_id.check_character``, ``division_code.format``) and whose message says what is wrong;
:meth:`schemas.catalogue.model.DataItem.validate` turns it into a
:class:`govbus.exceptions.ValidationError` naming the field.

Each identifier type carries an :class:`Identifier` marker, which the model/schema agreement
check compares with the ``identifier_fields`` of the item's metadata.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from govbus.identifiers import (
    USCC_ALPHABET,
    ascii_digits,
    check_division_code,
    check_resident_id,
    check_uscc,
    upgrade_legacy_id,
    uscc_check_character,
)


class IdentifierKind(StrEnum):
    """Kinds of identifiers with a check rule."""

    USCC = "uscc"
    """Unified social credit code (GB 32100)."""
    RESIDENT_ID = "resident_id"
    """Resident identity number (GB 11643)."""
    DIVISION_CODE = "division_code"
    """Administrative division code (GB/T 2260)."""


@dataclass(frozen=True)
class Identifier:
    """Marks a model field as an identifier of ``kind`` (read by the agreement check)."""

    kind: IdentifierKind


def field_error(rule: str, message: str, field: str | None = None) -> PydanticCustomError:
    """A pydantic error of type ``rule``; ``field`` names the field when raised by a model validator."""
    context: dict[str, str] = {"reason": message}
    if field is not None:
        context["field"] = field
    return PydanticCustomError(rule, "{reason}", context)


def _canonical_code(value: object) -> object:
    """Half-width, no whitespace, upper case; non-strings are left for pydantic to refuse."""
    if not isinstance(value, str):
        return value
    if value.isascii() and value.isalnum():  # the common case: already half-width, nothing to remove
        return value.upper()
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()


def _uscc_rule(code: str) -> str:
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return "uscc.format"
    if code[17] != uscc_check_character(code[:17]):
        return "uscc.check_character"
    return "uscc.division"


def _valid_uscc(code: str) -> str:
    problem = check_uscc(code)
    if problem:
        raise field_error(_uscc_rule(code), f"{code!r} is not a valid unified social credit code: {problem}")
    return code


def _upgrade_legacy(value: object) -> object:
    value = _canonical_code(value)
    if isinstance(value, str) and len(value) == 15 and ascii_digits(value):
        return upgrade_legacy_id(value)
    return value


def _resident_id_rule(number: str) -> str:
    if len(number) != 18 or not ascii_digits(number[:17]) or not (ascii_digits(number[17]) or number[17] == "X"):
        return "resident_id.format"
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "resident_id.birth_date"
    return "resident_id.check_character"


def _valid_resident_id(number: str) -> str:
    problem = check_resident_id(number)
    if problem:
        # the number is personal: the reason names what is wrong, never the number or a part of it
        raise field_error(_resident_id_rule(number), f"not a valid resident identity number: {problem}")
    return number


def _valid_division_code(code: str) -> str:
    problem = check_division_code(code)
    if problem:
        raise field_error("division_code.format", f"{code!r} is not an administrative division code: {problem}")
    return code


Uscc = Annotated[str, BeforeValidator(_canonical_code), AfterValidator(_valid_uscc), Identifier(IdentifierKind.USCC)]
"""A unified social credit code (GB 32100), normalised and checked (mod-31 check character)."""

ResidentId = Annotated[
    str, BeforeValidator(_upgrade_legacy), AfterValidator(_valid_resident_id), Identifier(IdentifierKind.RESIDENT_ID)
]
"""A resident identity number (GB 11643): 18 characters, a legacy 15-digit number is upgraded."""

DivisionCode = Annotated[
    str, BeforeValidator(_canonical_code), AfterValidator(_valid_division_code),
    Identifier(IdentifierKind.DIVISION_CODE),
]
"""An administrative division code (GB/T 2260): 6 digits, the first not 0."""

_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""Control characters but tab, line feed and carriage return; and UTF-16 surrogates, which are not characters."""


def text_problem(value: str) -> tuple[str, str] | None:
    """``(rule, reason)`` when ``value`` holds a character no text field may hold, else ``None``.

    A NUL cannot be stored in a PostgreSQL text column (it stopped every mirror of its item), other
    control characters corrupt logs, CSV exports and terminals, and a lone surrogate cannot be
    encoded as UTF-8 at all: they are refused where records enter, naming the character's code
    point and position, never the text around it (which may be personal).
    """
    found = _NOT_TEXT.search(value)
    if found is None:
        return None
    code, position = ord(found.group()), found.start() + 1
    if 0xD800 <= code <= 0xDFFF:
        return ("text.invalid_character", f"character {position} is U+{code:04X}, half of a UTF-16 surrogate pair "
                "and not a character: send the text as UTF-8")
    return ("text.control_character", f"character {position} is the control character U+{code:04X}; remove it "
            "(text may hold tabs and line breaks, no other control characters)")


def _plain_text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise field_error(*problem)
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_plain_text)]
"""A non-empty text with surrounding whitespace removed (names, addresses, titles), without control characters
(``text.control_character``; tabs and line breaks are allowed) or lone surrogates (``text.invalid_character``)."""

INT_MAX = 2**31 - 1
"""The largest Avro ``int``."""
LONG_MAX = 2**63 - 1
"""The largest Avro ``long``."""


def _fits(largest: int, avro_type: str) -> AfterValidator:
    """Refuse a number its Avro type cannot hold (``number.range``), so it fails validation with its field named
    instead of failing the encoder after the record was accepted."""

    def check(value: int) -> int:
        if not -largest - 1 <= value <= largest:
            raise field_error("number.range", f"is outside the range of an Avro {avro_type} "
                              f"({-largest - 1} to {largest}): check the unit and the value")
        return value

    return AfterValidator(check)


AvroInt = Annotated[int, _fits(INT_MAX, "int")]
"""A whole number an Avro ``int`` holds (32 bits); larger ones are refused as ``number.range``."""

AvroLong = Annotated[int, _fits(LONG_MAX, "long")]
"""A whole number an Avro ``long`` holds (64 bits); larger ones are refused as ``number.range``."""

Cents = Annotated[AvroLong, Field(ge=0)]
"""An amount of money in fen (1/100 yuan), never negative, at most an Avro long."""

AreaDm2 = Annotated[AvroLong, Field(ge=0)]
"""An area in square decimetres (0.01 m²), never negative, at most an Avro long."""


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise field_error("timestamp.timezone", f"{value.isoformat()} has no time zone; give an offset such as +08:00")
    return value


Timestamp = Annotated[dt.datetime, AfterValidator(_aware)]
"""A point in time with its time zone (Avro ``timestamp-millis``); naive datetimes are refused."""
