"""The authorisation decision: from the catalogue's sharing class, the grants and the request.

- **not shared** items never leave their provider;
- **unconditional** items go to any registered subscriber, for the fields it asks for;
- **conditional** items need an active grant from the providing department, and only the
  granted fields are delivered; an expired or revoked grant stops delivery;
- **profiles** (``item: profile:<name>``) are planned side by side, each side like its item
  (:mod:`govbus.sharing.profile_authorisation`).
Default-deny: a field path (nested ones included) is sent in clear only when the catalogue classifies
it not personal or an active grant names it in ``unmasked``; every other one is masked, and fields
outside the plan are never sent. Items are planned by :mod:`govbus.sharing.item_plan`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from govbus.exceptions import AuthorizationError, CatalogueError
from govbus.sharing.item_plan import Catalogue, ItemPlan, Shaped, SharedItem, matches, plan_item, shape
from govbus.sharing.model import Grant, ItemRequest, Subscription
from govbus.sharing.profile_authorisation import ProfilePlan, plan_profile, profile_name
from schemas.catalogue.profiles import load_profile

__all__ = ["Catalogue", "ItemPlan", "ProfilePlan", "Shaped", "SharedItem", "SubscriptionRefused", "authorise",
           "matches", "plan_item", "plan_request", "shape"]


class SubscriptionRefused(AuthorizationError):
    """A subscription asks for something the catalogue or the grants do not allow."""

    def __init__(self, subscription: str, reasons: list[str]) -> None:
        super().__init__(f"subscription {subscription!r} refused: " + "; ".join(reasons))
        self.reasons = reasons


def plan_request(request: ItemRequest, subscriber: str, catalogue: Catalogue, grants: Iterable[Grant],
                 now: dt.datetime) -> ItemPlan:
    """The plan of one requested item or profile; :class:`AuthorizationError` or :class:`CatalogueError`
    saying why not."""
    profile = profile_name(request.item)
    if profile is None:
        return plan_item(request, subscriber, catalogue.get(request.item), grants, now)
    return plan_profile(request, subscriber, load_profile(profile), catalogue, grants, now)


def authorise(subscription: Subscription, catalogue: Catalogue, grants: Iterable[Grant],
              now: dt.datetime | None = None) -> list[ItemPlan]:
    """Every item's plan, or :class:`SubscriptionRefused` listing every reason at once."""
    now = now or dt.datetime.now(dt.UTC)
    grants = list(grants)
    plans: list[ItemPlan] = []
    reasons: list[str] = []
    for request in subscription.items:
        try:
            plans.append(plan_request(request, subscription.subscriber, catalogue, grants, now))
        except (AuthorizationError, CatalogueError) as refusal:
            reasons.append(str(refusal))
    if reasons:
        raise SubscriptionRefused(subscription.name, reasons)
    return plans
