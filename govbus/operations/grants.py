"""The grants' expiry times, as label sets and values (pure): active grants only.

A grant is labelled by its approving department, its subscriber, its item and its id (each department
numbers its own grants, so the department is part of its identity): ids and slugs, never a personal value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from govbus.sharing.model import Grant

GRANT_LABELS = ("department", "subscriber", "item", "grant")


def grant_expiries(grants: Iterable[Grant], now: dt.datetime) -> list[tuple[tuple[str, str, str, str], float]]:
    """(labels, expiry as unix seconds) of each grant active at ``now``, sorted by labels."""
    rows = [((grant.approved_by, grant.subscriber, grant.item, grant.grant_id), grant.expires_at.timestamp())
            for grant in grants if grant.active(now)]
    return sorted(rows)
