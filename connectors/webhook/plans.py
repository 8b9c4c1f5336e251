"""The subscription's current authorisation, item by item, kept fresh in the background.

Every ``refresh_seconds`` a thread reloads subscriptions and grants from the sharing store and
plans each requested item or profile again (:func:`govbus.sharing.authorisation.plan_request`): an item with a
plan is delivered as the plan says; an item without one (grant revoked or expired, item no
longer shared or requested) is refused, and its events are skipped. Besides the reload, a grant
that expires is noticed at the next event after its expiry, without waiting for the thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.webhook.exceptions import SharingStoreUnavailable, SharingStoreUnreadable, SubscriptionGone
from govbus.exceptions import AuthorizationError, CatalogueError
from govbus.sharing.authorisation import Catalogue, ItemPlan, plan_request
from govbus.sharing.model import Grant, Subscription
from govbus.sharing.runtime import record_key_fields, source_topic
from govbus.sharing.store import SharingSnapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """An item's plan, or why it is refused now."""

    item: str
    plan: ItemPlan | None
    reason: str | None = None
    key_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Authorisation:
    """Every requested item's decision at one moment, and when it must be re-planned at the latest."""

    subscription: Subscription
    decisions: dict[str, Decision]
    valid_until: dt.datetime | None
    generation: int
    topics: dict[str, str] = field(default_factory=dict)
    """source topic -> item"""

    def decide(self, item: str) -> Decision:
        return self.decisions.get(item) or Decision(item, None, f"{item} is no longer part of the subscription")


def authorise_items(subscription: Subscription, catalogue: Catalogue, grants: list[Grant], now: dt.datetime,
                    prefix: str, generation: int) -> Authorisation:
    """Plan each requested item on its own: one refused item does not stop the others."""
    decisions: dict[str, Decision] = {}
    for request in subscription.items:
        try:
            plan = plan_request(request, subscription.subscriber, catalogue, grants, now)
            decisions[request.item] = Decision(request.item, plan, None, record_key_fields(request.item, catalogue))
        except (AuthorizationError, CatalogueError) as refusal:
            decisions[request.item] = Decision(request.item, None, str(refusal))
    in_use = {item for d in decisions.values() if d.plan is not None for item in d.plan.source_items}
    relevant = [g for g in grants if g.subscriber == subscription.subscriber and g.active(now) and g.item in in_use]
    valid_until = min((g.expires_at for g in relevant), default=None)
    topics = {source_topic(r.item, prefix): r.item for r in subscription.items}
    return Authorisation(subscription, decisions, valid_until, generation, topics)


STALE_AFTER_SECONDS = 60.0
"""How long a connector goes on with the subscriptions and grants it read last when the store cannot be read."""


def reload_timeout(refresh_seconds: float) -> float:
    """How long one reload of the sharing store may take before it counts as failed (and is tried again at the
    next refresh): two refreshes, at least 10 s."""
    return max(10.0, 2 * refresh_seconds)


class Authoriser:
    """Holds the current :class:`Authorisation`; a daemon thread refreshes it every ``refresh_seconds``.

    A revocation takes effect within :attr:`revocation_bound_seconds` (two refreshes): :meth:`in_force` hands
    out decisions only from a reading of the store begun within that bound, and waits (the caller's delivery
    paused) while the store cannot be read, for instance while a broker holding a control topic is down and its
    partitions elect a new leader. After ``stale_after_seconds`` without a reading, delivery stops."""

    def __init__(self, name: str, load: Callable[[], SharingSnapshot], catalogue: Catalogue, prefix: str,
                 refresh_seconds: float, on_refresh_failure: Callable[[], Any] | None = None,
                 stale_after_seconds: float = STALE_AFTER_SECONDS) -> None:
        self._name = name
        self._stale_after = stale_after_seconds
        self._load = load
        self._catalogue = catalogue
        self._prefix = prefix
        self._refresh_seconds = refresh_seconds
        self._on_refresh_failure = on_refresh_failure
        self._lock = threading.Lock()
        self._read_at = time.monotonic()
        self._snapshot = self._loaded()
        self._loaded_at = time.monotonic()
        self._current = self._plan(self._snapshot, 1)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._refresh_loop, name=f"authoriser-{name}", daemon=True)
        self.gone: str | None = None

    def start(self) -> Authoriser:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=self._refresh_seconds + 35)

    @property
    def revocation_bound_seconds(self) -> float:
        """A delivery decided now reflects the store as it was at most this long ago."""
        return 2 * self._refresh_seconds

    def in_force(self, wait: Callable[[float], Any]) -> Authorisation:
        """The decisions in force now, from a reading of the store begun within the revocation bound; while
        there is none, ``wait(seconds)`` is called (the caller pauses its delivery) until a reload succeeds, or
        until the store has been unreadable for ``stale_after_seconds`` (:class:`SharingStoreUnavailable`)."""
        paused_since: float | None = None
        while time.monotonic() - self._read_at > self.revocation_bound_seconds:
            if paused_since is None:
                paused_since = time.monotonic()
                log.warning("subscriptions and grants not reloaded within the revocation bound: delivery waits",
                            extra={"subscription": self._name, "bound_seconds": self.revocation_bound_seconds})
            self.current()  # raises once the store has been unreadable too long
            wait(0.5)
        if paused_since is not None:
            log.info("subscriptions and grants reloaded: delivery goes on", extra={
                "subscription": self._name, "waited_seconds": round(time.monotonic() - paused_since, 1)})
        return self.current()

    def current(self, now: dt.datetime | None = None) -> Authorisation:
        """The decisions in force now (re-planned on the spot when a grant in use has expired)."""
        if self.gone:
            raise SubscriptionGone(self.gone)
        unread = time.monotonic() - self._loaded_at
        if unread > self._stale_after:
            raise SharingStoreUnavailable(
                f"the subscriptions and grants of {self._name!r} could not be read for {unread:.0f} s (more than "
                f"{self._stale_after:.0f} s): delivery stops rather than miss a revocation. Check that the broker "
                "answers and that this connector's principal may read the control topics (`govbus acl sync "
                "--dry-run`), then restart it")
        now = now or dt.datetime.now(dt.UTC)
        with self._lock:
            current = self._current
            if current.valid_until is not None and now >= current.valid_until:
                current = self._current = self._replan(self._snapshot, current, now)
            return current

    def refresh(self) -> None:
        """Reload the store and re-plan now."""
        read_at = time.monotonic()
        snapshot = self._loaded(self._current.subscription.subscriber)
        with self._lock:
            self._read_at = read_at
            self._snapshot = snapshot
            self._loaded_at = time.monotonic()
            self._current = self._replan(snapshot, self._current, dt.datetime.now(dt.UTC))

    def _loaded(self, subscriber: str | None = None) -> SharingSnapshot:
        """The store now; once the subscription's ``subscriber`` is known, its control topic must be readable: a
        topic this principal no longer sees (its ACL was removed) is a failure to read, not a removal."""
        snapshot = self._load()
        if subscriber is not None and subscriber not in snapshot.subscribers:
            raise SharingStoreUnreadable(f"the subscriptions topic of {subscriber!r} is not visible to this "
                                         "connector's principal")
        if self._name not in snapshot.subscriptions:
            known = ", ".join(sorted(snapshot.subscriptions)) or "none"
            raise SubscriptionGone(f"no subscription {self._name!r} in the sharing store (known: {known}); "
                                   "add it with `govbus subscriptions add FILE`")
        return snapshot

    def _plan(self, snapshot: SharingSnapshot, generation: int, now: dt.datetime | None = None) -> Authorisation:
        return authorise_items(snapshot.subscriptions[self._name], self._catalogue, list(snapshot.grants.values()),
                               now or dt.datetime.now(dt.UTC), self._prefix, generation)

    def _replan(self, snapshot: SharingSnapshot, previous: Authorisation, now: dt.datetime) -> Authorisation:
        fresh = self._plan(snapshot, previous.generation, now)
        if fresh.decisions == previous.decisions and fresh.subscription == previous.subscription:
            return fresh
        log.info("authorisation changed", extra={"subscription": self._name, "refused": {
            item: d.reason for item, d in fresh.decisions.items() if d.plan is None}})
        return Authorisation(fresh.subscription, fresh.decisions, fresh.valid_until, previous.generation + 1,
                             fresh.topics)

    def _refresh_loop(self) -> None:
        """Reload every ``refresh_seconds`` from the start of one reading to the start of the next (a failed or
        slow reading is followed by the next at once when its time has passed)."""
        next_read = time.monotonic() + self._refresh_seconds
        while not self._stopping.wait(max(0.0, next_read - time.monotonic())):
            next_read = time.monotonic() + self._refresh_seconds
            try:
                self.refresh()
            except SubscriptionGone as gone:
                self.gone = str(gone)
                log.warning("subscription removed; the connector stops", extra={"subscription": self._name})
                return
            except Exception as error:  # the broker may be away for a while: keep the last decisions
                log.warning("reloading subscriptions and grants failed; the last ones stay in force",
                            extra={"subscription": self._name, "error": repr(error)})
                if self._on_refresh_failure:
                    self._on_refresh_failure()
