"""Registry modes: whether schemas may be written."""

from __future__ import annotations

from enum import StrEnum

from schemas.registry.errors import InvalidMode, shown


class Mode(StrEnum):
    """READWRITE (default) accepts writes; READONLY and READONLY_OVERRIDE refuse them (42205).

    Confluent's IMPORT mode (registering with caller-chosen ids) is not supported.
    """

    READWRITE = "READWRITE"
    READONLY = "READONLY"
    READONLY_OVERRIDE = "READONLY_OVERRIDE"

    @classmethod
    def parse(cls, value: object) -> Mode:
        """The mode named by ``value`` (case-insensitive) or :class:`InvalidMode` (42204)."""
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        allowed = ", ".join(cls.__members__)
        if isinstance(value, str) and value.upper() == "IMPORT":
            raise InvalidMode(f"Invalid mode 'IMPORT': govbus does not support IMPORT mode. Valid modes: {allowed}.")
        raise InvalidMode(f"Invalid mode {shown(value)}. Valid modes are: {allowed}.")

    @property
    def writable(self) -> bool:
        return self is Mode.READWRITE


DEFAULT_MODE = Mode.READWRITE
