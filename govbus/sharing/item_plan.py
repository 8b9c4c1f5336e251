"""What a subscriber receives of one catalogue item: the grant check of a set of fields, the plan, shaping.

:func:`plan_fields` decides which grants cover some fields of one item (the catalogue's sharing
class, the subscriber's grants approved by the item's department, expiry and revocation) and
which of them stay masked; :func:`plan_item` turns an item request into an :class:`ItemPlan`.
A plan keeps its records to its filter (:meth:`ItemPlan.matches`) and shapes them
(:meth:`ItemPlan.shape`): only the planned fields, personal ones masked. Profiles reuse all of
this per side (:mod:`govbus.sharing.profile_authorisation`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from govbus.exceptions import AuthorizationError
from govbus.sharing.masking import mask
from govbus.sharing.model import Filter, Grant, ItemRequest


class SharedItem(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def sharing_class(self) -> Any: ...
    @property
    def personal_fields(self) -> Mapping[str, Any]: ...
    @property
    def identifier_fields(self) -> Mapping[str, Any]: ...
    @property
    def record_schema(self) -> dict[str, Any]: ...


class Catalogue(Protocol):
    def get(self, name: str) -> Any: ...


@dataclass(frozen=True)
class Shaped:
    record: dict[str, Any]
    delivered_fields: list[str]
    masked_fields: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ItemPlan:
    """What one subscription receives of one item, and under which grant."""

    item: str
    fields: tuple[str, ...]
    masked: dict[str, str]
    filter: Filter
    grant_id: str | None = None
    division_field: str | None = None

    @property
    def source_items(self) -> tuple[str, ...]:
        """The catalogue items whose grants this plan relies on."""
        return (self.item,)

    @property
    def field_paths(self) -> tuple[str, ...]:
        """Every field delivered, as a subscription names it (``identity.name`` in a profile)."""
        return self.fields

    @property
    def masked_paths(self) -> tuple[str, ...]:
        """Every field delivered masked, as :attr:`field_paths` names them."""
        return tuple(self.masked)

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` passes the plan's filter."""
        wanted = self.filter
        if wanted.division_prefix and self.division_field:
            if not str(record.get(self.division_field) or "").startswith(wanted.division_prefix):
                return False
        return all(record.get(name) in values for name, values in wanted.equals.items())

    def shape(self, record: Mapping[str, Any]) -> Shaped:
        """Only the planned fields, personal ones masked."""
        out = {name: record.get(name) for name in self.fields}
        masked = [name for name, kind in self.masked.items() if out.get(name) is not None]
        for name in masked:
            out[name] = mask(self.masked[name], out[name])
        return Shaped(out, list(self.fields), masked)


@dataclass(frozen=True)
class FieldPlan:
    """Some fields of one item as the grants allow them."""

    fields: tuple[str, ...]
    masked: dict[str, str]
    grants: tuple[Grant, ...]
    """the active grants in force (none for an unconditional item)"""
    allowed: frozenset[str] | None
    """the fields those grants cover; ``None``: every field (no grant needed)"""

    @property
    def grant_id(self) -> str | None:
        return self.grants[0].grant_id if self.grants else None


def kind(value: Any) -> str:
    """An enum's value (or the string itself)."""
    return str(getattr(value, "value", value))


def item_fields(item: SharedItem) -> list[str]:
    return [f["name"] for f in item.record_schema["fields"]]


def plan_fields(item: SharedItem, fields: Sequence[str], subscriber: str, grants: Iterable[Grant],
                now: dt.datetime, *, require_grant: bool = False) -> FieldPlan:
    """``fields`` of ``item`` under the subscriber's grants, or :class:`AuthorizationError` saying why not.

    A conditional item (or any item when ``require_grant``) needs an active grant approved by the
    item's department covering every field; personal fields stay masked unless a grant unmasks them.
    """
    sharing = kind(item.sharing_class)
    if sharing == "not_shared":
        raise AuthorizationError(f"{item.name} is not shared: it never leaves {item.department}")
    known = item_fields(item)
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise AuthorizationError(f"{item.name} has no field(s) {', '.join(unknown)}")
    matching = [g for g in grants if g.subscriber == subscriber and g.item == item.name
                and g.approved_by == item.department]
    active = tuple(g for g in matching if g.active(now))
    allowed: frozenset[str] | None = None
    if sharing == "conditional" or require_grant:
        if not active:
            raise AuthorizationError(no_grant_reason(item, subscriber, matching, sharing))
        allowed = frozenset().union(*(g.fields for g in active))
        outside = [f for f in fields if f not in allowed]
        if outside:
            raise AuthorizationError(f"{item.name}: field(s) {', '.join(outside)} are outside grant(s) "
                                     f"{', '.join(g.grant_id for g in active)}; drop them or ask {item.department} "
                                     "to widen the grant")
    unmasked = set().union(*(g.unmasked for g in active)) if active else set()
    masked = {f: kind(k) for f, k in item.personal_fields.items() if f in fields and f not in unmasked}
    return FieldPlan(tuple(fields), masked, active, allowed)


def no_grant_reason(item: SharedItem, subscriber: str, matching: list[Grant], sharing: str) -> str:
    """Why no grant of ``matching`` (the subscriber's grants for ``item``) is in force."""
    if not matching:
        how = "shared conditionally" if sharing == "conditional" else "delivered here only under a grant"
        return (f"{item.name} is {how}: {subscriber} needs a grant approved by "
                f"{item.department} (purpose, fields, expiry)")
    revoked = [g.grant_id for g in matching if g.revoked]
    if revoked:
        return f"{item.name}: grant(s) {', '.join(revoked)} were revoked by {item.department}"
    latest = max(matching, key=lambda g: g.expires_at)
    return f"{item.name}: grant {latest.grant_id} expired at {latest.expires_at.isoformat()}; ask for a renewal"


def division_field(item: SharedItem) -> str | None:
    """The item's administrative-division field, if it has one."""
    return next((f for f, k in item.identifier_fields.items() if kind(k) == "division_code"), None)


def plan_item(request: ItemRequest, subscriber: str, item: SharedItem, grants: Iterable[Grant],
              now: dt.datetime) -> ItemPlan:
    """The plan for one requested item, or :class:`AuthorizationError` saying why not."""
    planned = plan_fields(item, request.fields, subscriber, grants, now)
    return ItemPlan(item.name, planned.fields, planned.masked, request.filter, planned.grant_id,
                    division_field(item))


def matches(record: Mapping[str, Any], plan: ItemPlan) -> bool:
    """Whether ``record`` passes the plan's filter."""
    return plan.matches(record)


def shape(record: Mapping[str, Any], plan: ItemPlan) -> Shaped:
    """Only the planned fields, personal ones masked (nested per side for a profile)."""
    return plan.shape(record)
