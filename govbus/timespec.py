"""Points in time as command lines take them (``--since``, ``--from``).

- an ISO 8601 date-time with a zone: ``2026-11-23T10:00:00+08:00``, ``2026-11-23T02:00:00Z``;
- without a zone, or a bare date (``2026-11-23``: its midnight), it is read in this machine's zone;
- an age: ``90s``, ``15m``, ``2h``, ``7d`` before now.
"""

from __future__ import annotations

import datetime as dt
import re

from govbus.exceptions import ConfigurationError

_AGE = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_time(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``text`` as an aware datetime (see the module docstring)."""
    value = text.strip()
    age = _AGE.match(value)
    if age:
        return (now or dt.datetime.now(dt.UTC)) - dt.timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(f"{text!r} is not a time: give an ISO 8601 time such as 2026-11-23T10:00:00+08:00 "
                                 "or 2026-11-23, or an age such as 15m, 2h, 7d") from None
    return parsed if parsed.tzinfo else parsed.astimezone()
