"""Masking of personal fields (shared/DOMAIN.md: minimum necessary; e.g. ``110101********123X``, ``张*``)."""

from __future__ import annotations

import re
from collections.abc import Callable

_COUNTY = re.compile(r"^(.+?(?:县|区|旗))")
_CITY = re.compile(r"^(.+?市)")


def mask_resident_id(value: str) -> str:
    """First 6 (division) and last 4 characters kept: ``110101********123X``."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(value: str) -> str:
    """The first character (the surname, usually) kept, every other one starred: ``张*``, ``张**``."""
    if len(value) <= 1:
        return "*"
    return value[0] + "*" * (len(value) - 1)


def mask_phone(value: str) -> str:
    """First 3 and last 4 digits kept: ``138****5678``."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str) -> str:
    """Kept down to the county (区/县/旗), else to the city (市), the rest starred: ``北京市朝阳区******``;
    an address with neither is starred whole."""
    for level in (_COUNTY, _CITY):
        match = level.match(value)
        if match and len(match.group(1)) < len(value):
            return match.group(1) + "******"
    return "******"


def mask_full(_value: str) -> str:
    return "******"


MASKERS: dict[str, Callable[[str], str]] = {
    "resident_id": mask_resident_id,
    "name": mask_name,
    "phone": mask_phone,
    "address": mask_address,
    "full": mask_full,
}


def mask(kind: str, value: object) -> object:
    """``value`` masked by ``kind`` (a catalogue masking kind); ``None`` stays ``None``."""
    if value is None:
        return None
    return MASKERS[kind](str(value))
