"""Chinese government identifiers and their check characters (see shared/DOMAIN.md).

- Unified social credit code (GB 32100): 18 characters, last one a mod-31 check character.
- Resident identity number (GB 11643): 18 characters, last one a mod-11 check character;
  legacy 15-digit numbers are upgraded.
- Administrative division code (GB/T 2260): 6 digits.

Each ``check_*`` function returns ``None`` when the value is valid, else a sentence saying
what is wrong, so callers can name the field and the rule.

Digits are the ASCII digits 0-9 only: a regex's digit class and ``str.isdigit`` also accept other scripts' digits
(``٣``, ``३``) and superscripts (``²``, which ``int`` refuses), which would let a number that is not
canonical through, or fail later with an error no rule names.
"""

from __future__ import annotations

import datetime as dt
import operator
import re

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUES = {character: value for value, character in enumerate(USCC_ALPHABET)}
_USCC_PATTERN = re.compile(rf"^[{USCC_ALPHABET}]{{18}}$")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECKS = "10X98765432"
_DIVISION_PATTERN = re.compile(r"^[1-9][0-9]{5}$")


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits 0-9 (``str.isdigit`` also takes ``٣`` and ``²``)."""
    return text.isascii() and text.isdigit()


def uscc_check_character(first17: str) -> str:
    """The check character for the first 17 characters of a unified social credit code (:class:`ValueError`
    for another length or a character outside the alphabet)."""
    if len(first17) != len(_USCC_WEIGHTS):
        raise ValueError(f"a unified social credit code's check covers 17 characters, got {len(first17)}")
    try:
        total = sum(map(operator.mul, map(_USCC_VALUES.__getitem__, first17), _USCC_WEIGHTS))
    except KeyError as error:
        raise ValueError(f"{error.args[0]!r} is not a character of unified social credit codes") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(code: str) -> str | None:
    """``None`` if ``code`` is a valid unified social credit code, else what is wrong."""
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    if not _USCC_PATTERN.match(code):
        bad = sorted({c for c in code if c not in USCC_ALPHABET})
        return f"contains characters outside {USCC_ALPHABET!r}: {''.join(bad)!r}"
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r} but should be {expected!r}"
    division_problem = check_division_code(code[2:8])
    if division_problem:
        return f"administrative division part {code[2:8]!r} {division_problem}"
    return None


def id_check_character(first17: str) -> str:
    """The check character for the first 17 digits of a resident identity number."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECKS[total % 11]


def upgrade_legacy_id(number: str) -> str:
    """Turn a legacy 15-digit identity number into its 18-character form."""
    if len(number) != 15 or not ascii_digits(number):
        raise ValueError("a legacy identity number has exactly 15 digits")
    first17 = number[:6] + "19" + number[6:]
    return first17 + id_check_character(first17)


def check_resident_id(number: str) -> str | None:
    """``None`` if ``number`` is a valid 18-character resident identity number, else what is wrong."""
    if len(number) != 18:
        return f"must be 18 characters, got {len(number)}"
    if not ascii_digits(number[:17]) or not (ascii_digits(number[17]) or number[17] == "X"):
        return "must be 17 digits followed by a digit or 'X'"
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "birth date (characters 7 to 14) is not a calendar date"  # the date itself is personal
    if number[17] != id_check_character(number[:17]):
        return "check character (the 18th) does not match the first 17"  # never the one that would complete it
    return None


def check_division_code(code: str) -> str | None:
    """``None`` if ``code`` looks like a GB/T 2260 administrative division code."""
    if not _DIVISION_PATTERN.match(code):
        return "must be 6 digits, the first not 0"
    return None
