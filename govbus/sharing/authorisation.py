"""The authorisation decision: from the catalogue's sharing class, the grants and the request.

- **not shared** items never leave their provider;
- **unconditional** items go to any registered subscriber, for the fields it asks for;
- **conditional** items need an active grant from the providing department, and only the
  granted fields are delivered; an expired or revoked grant stops delivery.
Personal fields are masked unless an active grant names them in ``unmasked``; fields outside
the plan are never sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from govbus.exceptions import AuthorizationError, CatalogueError
from govbus.sharing.masking import mask
from govbus.sharing.model import Filter, Grant, ItemRequest, Subscription


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


class SubscriptionRefused(AuthorizationError):
    """A subscription asks for something the catalogue or the grants do not allow."""

    def __init__(self, subscription: str, reasons: list[str]) -> None:
        super().__init__(f"subscription {subscription!r} refused: " + "; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class ItemPlan:
    """What one subscription receives of one item, and under which grant."""

    item: str
    fields: tuple[str, ...]
    masked: dict[str, str]
    filter: Filter
    grant_id: str | None = None
    division_field: str | None = None


@dataclass(frozen=True)
class Shaped:
    record: dict[str, Any]
    delivered_fields: list[str]
    masked_fields: list[str] = field(default_factory=list)


def _kind(value: Any) -> str:
    return str(getattr(value, "value", value))


def _grants_for(grants: Iterable[Grant], subscriber: str, item: SharedItem) -> list[Grant]:
    return [g for g in grants if g.subscriber == subscriber and g.item == item.name
            and g.approved_by == item.department]


def plan_item(request: ItemRequest, subscriber: str, item: SharedItem, grants: Iterable[Grant],
              now: dt.datetime) -> ItemPlan:
    """The plan for one requested item, or :class:`AuthorizationError` saying why not."""
    sharing = _kind(item.sharing_class)
    if sharing == "not_shared":
        raise AuthorizationError(f"{item.name} is not shared: it never leaves {item.department}")
    known = [f["name"] for f in item.record_schema["fields"]]
    unknown = [f for f in request.fields if f not in known]
    if unknown:
        raise AuthorizationError(f"{item.name} has no field(s) {', '.join(unknown)}")
    matching = _grants_for(grants, subscriber, item)
    active = [g for g in matching if g.active(now)]
    if sharing == "conditional" and not active:
        raise AuthorizationError(_no_grant_reason(item, subscriber, matching))
    if sharing == "conditional":
        allowed = set().union(*(g.fields for g in active))
        outside = [f for f in request.fields if f not in allowed]
        if outside:
            raise AuthorizationError(f"{item.name}: field(s) {', '.join(outside)} are outside grant(s) "
                                     f"{', '.join(g.grant_id for g in active)}; drop them or ask {item.department} "
                                     "to widen the grant")
    unmasked = set().union(*(g.unmasked for g in active)) if active else set()
    masked = {f: _kind(k) for f, k in item.personal_fields.items() if f in request.fields and f not in unmasked}
    division = next((f for f, k in item.identifier_fields.items() if _kind(k) == "division_code"), None)
    return ItemPlan(item.name, tuple(request.fields), masked, request.filter,
                    active[0].grant_id if active else None, division)


def _no_grant_reason(item: SharedItem, subscriber: str, matching: list[Grant]) -> str:
    if not matching:
        return (f"{item.name} is shared conditionally: {subscriber} needs a grant approved by "
                f"{item.department} (purpose, fields, expiry)")
    revoked = [g.grant_id for g in matching if g.revoked]
    if revoked:
        return f"{item.name}: grant(s) {', '.join(revoked)} were revoked by {item.department}"
    latest = max(matching, key=lambda g: g.expires_at)
    return f"{item.name}: grant {latest.grant_id} expired at {latest.expires_at.isoformat()}; ask for a renewal"


def authorise(subscription: Subscription, catalogue: Catalogue, grants: Iterable[Grant],
              now: dt.datetime | None = None) -> list[ItemPlan]:
    """Every item's plan, or :class:`SubscriptionRefused` listing every reason at once."""
    now = now or dt.datetime.now(dt.UTC)
    grants = list(grants)
    plans: list[ItemPlan] = []
    reasons: list[str] = []
    for request in subscription.items:
        try:
            plans.append(plan_item(request, subscription.subscriber, catalogue.get(request.item), grants, now))
        except (AuthorizationError, CatalogueError) as refusal:
            reasons.append(str(refusal))
    if reasons:
        raise SubscriptionRefused(subscription.name, reasons)
    return plans


def matches(record: Mapping[str, Any], plan: ItemPlan) -> bool:
    """Whether ``record`` passes the plan's filter."""
    wanted = plan.filter
    if wanted.division_prefix and plan.division_field:
        if not str(record.get(plan.division_field) or "").startswith(wanted.division_prefix):
            return False
    return all(record.get(name) in values for name, values in wanted.equals.items())


def shape(record: Mapping[str, Any], plan: ItemPlan) -> Shaped:
    """Only the planned fields, personal ones masked."""
    out = {name: record.get(name) for name in plan.fields}
    masked = [name for name, kind in plan.masked.items() if out.get(name) is not None]
    for name in masked:
        out[name] = mask(plan.masked[name], out[name])
    return Shaped(out, list(plan.fields), masked)
