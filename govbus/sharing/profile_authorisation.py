"""Authorisation of a profile request (``item: profile:<name>``): one grant check per side.

A profile joins several catalogue items around one identifier (:mod:`schemas.catalogue.profiles`),
so what a subscriber may receive of it is what it may receive of each of those items:

- the request's ``fields`` name the profile's key field (``resident_id``), a count field of a
  ``latest`` side (``tax_payment_certificate_count``), or a side's item field as ``side.field``,
  where ``side`` is the side's name or the profile field it fills: ``identity.name``,
  ``degrees.major`` (= ``degree_certifications.major``);
- each side a field names is planned like an item (:func:`~govbus.sharing.item_plan.plan_fields`):
  a not-shared item refuses; under a **conditional** profile every such side needs an active grant
  for its item, approved by that item's department, even when the item alone is unconditional
  (the linkage is what the profile's class protects); the side's fields must be within its grants,
  and every path under them, nested ones included (``real_estate_titles.encumbrances[].holder``),
  is masked unless the item's catalogue entry calls it not personal or one of them unmasks it;
- the **anchor** side (identity, registration) is always checked, even when none of its fields
  is asked for: every profile message says that the anchor record exists; the key field is the
  anchor's key field, masked unless the anchor's grant unmasks it;
- a filter applies to the anchor record: ``division_prefix`` to its division code, ``equals`` to
  its fields (``identity.card_status`` or the key field), which must be within the anchor's grant.

Every refused side is named in one :class:`~govbus.exceptions.AuthorizationError`.
:class:`ProfilePlan` is an :class:`~govbus.sharing.item_plan.ItemPlan`: its ``fields`` are the
profile record's top-level fields delivered (the PostgreSQL mirror's columns), ``masked`` the
top-level ones masked (the key), and :meth:`ProfilePlan.shape` shapes every side with its own plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from govbus.exceptions import AuthorizationError, CatalogueError
from govbus.sharing.item_plan import (
    Catalogue,
    FieldPlan,
    ItemPlan,
    Shaped,
    SharedItem,
    check_filter,
    division_field,
    kind,
    plan_fields,
)
from govbus.sharing.masking import mask
from govbus.sharing.model import Filter, Grant, ItemRequest
from schemas.catalogue.classification import top_field
from schemas.catalogue.profiles import ProfileDefinition, ProfileSide, SideKind

PROFILE_PREFIX = "profile:"
"""A subscription asks for a profile as ``item: profile:enterprise``."""


def profile_name(item: str) -> str | None:
    """``profile:enterprise`` -> ``enterprise``; an item name -> ``None``."""
    return item[len(PROFILE_PREFIX):] if item.startswith(PROFILE_PREFIX) else None


@dataclass(frozen=True)
class SidePlan:
    """One side of a profile plan: its item's plan (fields may be empty: checked, not delivered)."""

    side: str
    kind: SideKind
    field: str
    """the profile record's field this side fills"""
    plan: ItemPlan
    count_field: str | None = None
    """the side's count field, when it is delivered"""

    def shape(self, value: Any) -> tuple[Any, list[str]]:
        """The side's value shaped (a record, a list of them, or None) and the item fields masked in it."""
        if value is None:
            return None, []
        if self.kind is SideKind.LIST:
            shaped = [self.plan.shape(record) for record in value]
            return [one.record for one in shaped], list(dict.fromkeys(n for one in shaped for n in one.masked_fields))
        one = self.plan.shape(value)
        return one.record, one.masked_fields


@dataclass(frozen=True)
class ProfilePlan(ItemPlan):
    """What one subscription receives of one profile (see the module docstring)."""

    key_field: str = ""
    anchor: str = ""
    """the anchor side's profile field (``identity``); the filter reads the record there"""
    sides: tuple[SidePlan, ...] = ()
    paths: tuple[str, ...] = ()
    """every delivered field as the request names them, canonical: ``identity.name``"""

    @property
    def source_items(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(side.plan.item for side in self.sides))

    @property
    def field_paths(self) -> tuple[str, ...]:
        return self.paths

    @property
    def masked_paths(self) -> tuple[str, ...]:
        sides = (f"{side.field}.{name}" for side in self.sides for name in side.plan.masked)
        return (*self.masked, *sides)

    def matches(self, record: Mapping[str, Any]) -> bool:
        """The filter, on the anchor record (a profile without one never matches)."""
        anchor = record.get(self.anchor)
        return anchor is not None and super().matches(anchor)

    def shape(self, record: Mapping[str, Any]) -> Shaped:
        out: dict[str, Any] = {}
        masked: list[str] = []
        for name in self.fields:
            out[name] = record.get(name)
        key = out.get(self.key_field)
        if self.key_field in self.masked and key is not None:
            out[self.key_field] = mask(self.masked[self.key_field], key)
            masked.append(self.key_field)
        for side in self.sides:
            if side.plan.fields:
                out[side.field], side_masked = side.shape(record.get(side.field))
                masked.extend(f"{side.field}.{name}" for name in side_masked)
        return Shaped(out, list(self.paths), masked)


@dataclass
class _Asked:
    """A profile request's fields sorted by side."""

    key: bool = False
    sides: dict[str, list[str]] = field(default_factory=dict)
    counts: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)


def _sort_fields(definition: ProfileDefinition, fields: Sequence[str]) -> _Asked:
    prefixes = {side.side: side for side in definition.sides} | {side.field: side for side in definition.sides}
    counts = {side.count_field: side for side in definition.sides if side.count_field}
    asked = _Asked(sides={side.side: [] for side in definition.sides})
    for name in fields:
        prefix, dot, rest = name.partition(".")
        if name == definition.key_field:
            asked.key = True
        elif name in counts:
            asked.counts.add(counts[name].side)
        elif dot and prefix in prefixes and rest:
            _add(asked.sides[prefixes[prefix].side], rest)
        else:
            asked.unknown.append(name)
    return asked


def _add(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)


def _field_hint(definition: ProfileDefinition) -> str:
    counts = [s.count_field for s in definition.sides if s.count_field]
    sides = ", ".join(f"{s.side} ({s.item})" for s in definition.sides)
    return (f"ask for {definition.key_field}{''.join(', ' + c for c in counts)} or side.field with the sides "
            f"{sides}, e.g. {definition.anchor.side}.{definition.anchor.anchor_field}")


def plan_profile(request: ItemRequest, subscriber: str, definition: ProfileDefinition, catalogue: Catalogue,
                 grants: Iterable[Grant], now: dt.datetime) -> ProfilePlan:
    """The plan for one requested profile, or :class:`AuthorizationError` naming every refused side."""
    label = PROFILE_PREFIX + definition.name
    if kind(definition.metadata.sharing_class) == "not_shared":
        raise AuthorizationError(f"{label} is not shared")
    asked = _sort_fields(definition, request.fields)
    if asked.unknown:
        raise AuthorizationError(f"{label} has no field(s) {', '.join(asked.unknown)}; {_field_hint(definition)}")
    grants = list(grants)
    require_grant = kind(definition.metadata.sharing_class) == "conditional"
    planned: dict[str, tuple[SharedItem, FieldPlan]] = {}
    reasons: list[str] = []
    for side in definition.sides:
        fields = asked.sides[side.side]
        if side.kind is not SideKind.ANCHOR and not fields and side.side not in asked.counts:
            continue
        if side.kind is SideKind.ANCHOR and asked.key and side.anchor_field not in fields:
            fields = [*fields, side.anchor_field]  # the key is the anchor's key field: its grant covers it
        try:
            item: SharedItem = catalogue.get(side.item)
            planned[side.side] = item, plan_fields(item, fields, subscriber, grants, now, require_grant=require_grant)
        except (AuthorizationError, CatalogueError) as refusal:
            reasons.append(f"side {side.side}: {refusal}")
    if reasons:
        raise AuthorizationError(f"{label} refused: " + "; ".join(reasons))
    anchor_item, anchor = planned[definition.anchor.side]
    profile_filter = _anchor_filter(label, definition, request.filter, anchor_item, anchor)
    return _assemble(label, definition, asked, planned, profile_filter, division_field(anchor_item))


def _anchor_filter(label: str, definition: ProfileDefinition, wanted: Filter, item: SharedItem,
                   anchor: FieldPlan) -> Filter:
    """The request's filter with its fields as the anchor item's (checked to be within its grant)."""
    anchor_side = definition.anchor
    equals: dict[str, list[Any]] = {}
    for name, values in wanted.equals.items():
        prefix, dot, rest = name.partition(".")
        if name == definition.key_field:
            equals[anchor_side.anchor_field] = values
        elif dot and prefix in (anchor_side.side, anchor_side.field):
            equals[rest] = values
        else:
            raise AuthorizationError(f"{label}: a filter applies to the anchor record only: write "
                                     f"{anchor_side.side}.<field> or {definition.key_field}, not {name!r}")
    division = division_field(item)
    if wanted.division_prefix and division is None:
        raise AuthorizationError(f"{label}: {item.name} has no division code to filter on")
    check_filter(label, item, [*equals, *([division] if wanted.division_prefix and division else [])], anchor)
    return Filter(division_prefix=wanted.division_prefix, equals=equals)


def _assemble(label: str, definition: ProfileDefinition, asked: _Asked, planned: Mapping[str, tuple[SharedItem,
              FieldPlan]], profile_filter: Filter, division: str | None) -> ProfilePlan:
    sides: list[SidePlan] = []
    fields: list[str] = [definition.key_field] if asked.key else []
    paths: list[str] = list(fields)
    masked: dict[str, str] = {}
    anchor_plan = planned[definition.anchor.side][1]
    if asked.key and definition.anchor.anchor_field in anchor_plan.masked:
        masked[definition.key_field] = anchor_plan.masked[definition.anchor.anchor_field]
    for side in definition.sides:
        if side.side not in planned:
            continue
        item, field_plan = planned[side.side]
        count = side.count_field if side.side in asked.counts else None
        side_plan = _side_plan(side, item, field_plan, asked.sides[side.side], count)
        sides.append(side_plan)
        if side_plan.plan.fields:
            fields.append(side.field)
            paths.extend(f"{side.field}.{name}" for name in side_plan.plan.fields)
        if count:
            fields.append(count)
            paths.append(count)
    grant_ids = list(dict.fromkeys(g.grant_id for _, p in planned.values() for g in p.grants))
    return ProfilePlan(label, tuple(fields), masked, profile_filter, ", ".join(grant_ids) or None, division,
                       key_field=definition.key_field, anchor=definition.anchor.field, sides=tuple(sides),
                       paths=tuple(paths))


def _side_plan(side: ProfileSide, item: SharedItem, planned: FieldPlan, delivered: Sequence[str],
               count: str | None) -> SidePlan:
    """The side's plan: the fields asked under the side (the key alone is checked, not repeated here)."""
    masked = {path: how for path, how in planned.masked.items() if top_field(path) in delivered}
    clear = frozenset(path for path in planned.clear if top_field(path) in delivered)
    plan = ItemPlan(item.name, tuple(delivered), masked, Filter(), planned.grant_id, clear=clear)
    return SidePlan(side.side, side.kind, side.field, plan, count)
