"""Re-keying: which profile keys a canonical event concerns (pure; no Kafka).

Canonical topics are keyed by each item's own key (a credit record by its decision number);
profiles are keyed by an identifier inside the record (the credit record's ``subject_uscc``).
:func:`route` turns one canonical event into *forwards*, each naming a profile key, the side and
whether the record is now in that profile (``remove=False``) or no longer is (``remove=True``).

- An **anchor** item (enterprise registration, identity) is keyed by the profile key: its event
  goes to that key, a DELETE as a removal.
- Any **other** item: the record goes to the key in its ``anchor_field``; a record whose anchor
  field is null (a tax certificate of an individual, a title held by an organisation) goes to no
  profile of that kind. A DELETE carries no record, so the re-keyer keeps, per record key, every
  profile key the record was ever forwarded to (its *history*, in the re-key step's state store); a DELETE is a
  removal at each of them, and when a record's anchor field changes (a corrected subject) it
  is a removal at the old keys and the record at the new one.

The history only grows, so a history that is ahead after a restart (its table write survived,
the forwards did not) still routes every removal; an extra removal is harmless downstream (the
profile state ignores stale versions and never shows a record it does not hold).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.catalogue.profiles import ProfileDefinition, SideKind

History = dict[str, list[str]]
"""``{"<profile>.<side>": [profile keys the record was forwarded to, oldest first]}``"""


@dataclass(frozen=True)
class Route:
    """How one item feeds one side of one profile."""

    profile: str
    side: str
    anchor_field: str
    is_anchor: bool

    @property
    def history_name(self) -> str:
        return f"{self.profile}.{self.side}"


@dataclass(frozen=True)
class Forward:
    profile: str
    side: str
    key: str
    remove: bool


def routes_for(item: str, definitions: Sequence[ProfileDefinition]) -> tuple[Route, ...]:
    """Every side of ``definitions`` that ``item`` feeds."""
    return tuple(Route(d.name, s.side, s.anchor_field, s.kind is SideKind.ANCHOR)
                 for d in definitions for s in d.sides_fed_by(item))


def needs_history(routes: Sequence[Route]) -> bool:
    """True when the item feeds a side through a field (so deletes need the history)."""
    return any(not r.is_anchor for r in routes)


def route(routes: Sequence[Route], record_key: str, record: Mapping[str, Any] | None,
          history: Mapping[str, Sequence[str]]) -> tuple[list[Forward], History]:
    """The forwards of one canonical event (``record`` None: a DELETE) and the new history."""
    forwards: list[Forward] = []
    new_history: History = {name: list(keys) for name, keys in history.items()}
    for r in routes:
        if r.is_anchor:
            forwards.append(Forward(r.profile, r.side, record_key, remove=record is None))
            continue
        current = record.get(r.anchor_field) if record is not None else None
        past = new_history.get(r.history_name, [])
        forwards.extend(Forward(r.profile, r.side, key, remove=True) for key in past if key != current)
        if current is not None:
            forwards.append(Forward(r.profile, r.side, str(current), remove=False))
            if current not in past:
                new_history[r.history_name] = [*past, str(current)]
    return forwards, new_history
