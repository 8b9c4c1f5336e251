"""What a subscriber receives of one catalogue item: the grant check of a set of fields, the plan, shaping.

:func:`plan_fields` decides which grants cover some fields of one item (the catalogue's sharing
class, the subscriber's grants approved by the item's department, expiry and revocation) and
which of them stay masked; :func:`plan_item` turns an item request into an :class:`ItemPlan`.
A plan keeps its records to its filter (:meth:`ItemPlan.matches`) and shapes them
(:meth:`ItemPlan.shape`): only the planned fields, default-deny: every field path under them,
nested ones included (``encumbrances[].holder``), is in clear only when the catalogue classifies it
not personal or a grant in force names it in ``unmasked``; every other path is masked, by its
masking kind when the catalogue classifies it personal, else whole (:mod:`govbus.sharing.shaping`).
Profiles reuse all of this per side (:mod:`govbus.sharing.profile_authorisation`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from govbus.exceptions import AuthorizationError
from govbus.sharing.model import Filter, Grant, ItemRequest
from govbus.sharing.shaping import UNCLASSIFIED_MASKING, PathRules
from schemas.catalogue.classification import leaf_paths, top_field


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
    def not_personal_fields(self) -> Sequence[str]: ...
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
    clear: frozenset[str] = frozenset()
    """every field path delivered in clear (``masked`` names the masked ones); any other is masked whole"""

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

    @cached_property
    def rules(self) -> PathRules:
        """The plan's masking by field path (built once per plan)."""
        return PathRules.of(self.masked, self.clear)

    def shape(self, record: Mapping[str, Any]) -> Shaped:
        """Only the planned fields; masked where the plan says, and wherever it does not say clear."""
        rules, clear = self.rules, self.clear
        hits: dict[str, None] = {}
        out = {}
        for name in self.fields:
            value = record.get(name)
            out[name] = value if name in clear else rules.shape(name, value, hits)  # most fields: in clear
        return Shaped(out, list(self.fields), list(hits))


@dataclass(frozen=True)
class FieldPlan:
    """Some fields of one item as the grants allow them."""

    fields: tuple[str, ...]
    masked: dict[str, str]
    grants: tuple[Grant, ...]
    """the active grants in force (none for an unconditional item)"""
    allowed: frozenset[str] | None
    """the fields those grants cover; ``None``: every field (no grant needed)"""
    clear: frozenset[str] = frozenset()
    """the field paths under ``fields`` sent in clear"""
    unmasked: frozenset[str] = frozenset()
    """the personal paths the grants in force deliver in clear"""

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
    item's department covering every field; every path under them is masked (:func:`field_masking`)
    unless the catalogue calls it not personal or a grant unmasks it.
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
    unmasked: set[str] = set().union(*(g.unmasked for g in active)) if active else set()
    masked, clear = field_masking(item, fields, unmasked)
    return FieldPlan(tuple(fields), masked, active, allowed, clear, frozenset(unmasked))


def check_filter(label: str, item: SharedItem, read: Collection[str], planned: FieldPlan) -> None:
    """:class:`AuthorizationError` unless every field a filter reads (``read``) is a field of ``item`` that the
    subscriber may see in clear: covered by its grants (when the item needs one) and not masked for it. A filter
    on a masked or ungranted field would let a subscriber test values it may not see ("is the resident id X?")."""
    known = item_fields(item)
    readable = field_masking(item, [f for f in read if f in known], planned.unmasked)[1]
    refused = [f for f in read if f not in known or (planned.allowed is not None and f not in planned.allowed)
               or f not in readable]
    if refused:
        raise AuthorizationError(f"{label}: the filter reads {', '.join(refused)} of {item.name}, which this "
                                 "subscriber may not see in clear (not granted, masked, or not a field of it): "
                                 "filter on fields delivered in clear, or ask for a grant that unmasks them")


def field_masking(item: SharedItem, fields: Sequence[str], unmasked: Collection[str]) -> tuple[dict[str, str],
                                                                                              frozenset[str]]:
    """(masked path -> masking kind, paths in clear) for every field path under ``fields``, in field order.

    Default-deny: a path is in clear only when the catalogue classifies it not personal, or classifies
    it personal and a grant in force names it in ``unmasked``; a personal path is masked by its kind,
    any other (unclassified) one whole.
    """
    personal = {path: kind(how) for path, how in item.personal_fields.items()}
    not_personal = set(item.not_personal_fields)
    under: dict[str, list[str]] = {name: [] for name in fields}
    for path in leaf_paths(item.record_schema):
        if top_field(path) in under:
            under[top_field(path)].append(path)
    masked: dict[str, str] = {}
    clear: set[str] = set()
    for path in (p for name in fields for p in under[name]):
        if path in not_personal or (path in personal and path in unmasked):
            clear.add(path)
        else:
            masked[path] = personal.get(path, UNCLASSIFIED_MASKING)
    return masked, frozenset(clear)


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
    division = division_field(item)
    if request.filter.division_prefix and division is None:
        raise AuthorizationError(f"{item.name} has no division code to filter on")
    check_filter(item.name, item, [*request.filter.equals, *([division] if request.filter.division_prefix and
                                                            division else [])], planned)
    return ItemPlan(item.name, planned.fields, planned.masked, request.filter, planned.grant_id,
                    division_field(item), planned.clear)


def matches(record: Mapping[str, Any], plan: ItemPlan) -> bool:
    """Whether ``record`` passes the plan's filter."""
    return plan.matches(record)


def shape(record: Mapping[str, Any], plan: ItemPlan) -> Shaped:
    """Only the planned fields, masked by default-deny (nested per side for a profile)."""
    return plan.shape(record)
