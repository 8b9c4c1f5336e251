"""Profiles: several catalogue items joined around one identifier, with their own Avro schemas.

A profile is described by two files here, like a data item: ``<name>_profile.avsc`` (the value
schema of ``<prefix>.profile.<name>``) and ``<name>_profile.json`` (its metadata: title, key
field, sharing class, and its **sides**: which item feeds it, through which field, and how).
In the ``.avsc`` the item records are named types (``gov.govbus.credit.CreditRecord``); the
loader puts the catalogue's item schemas in their place, so an item's schema lives in one file.

Side kinds:

- ``anchor``: the item whose key is the profile key (enterprise registration, identity). No
  anchor record, no profile; a deleted anchor record tombstones the profile.
- ``list``: every record of the item whose ``anchor_field`` holds the profile key, sorted by
  ``order_by`` and then by record key.
- ``latest``: the last of those records by ``order_by`` (then record key) in ``field``, and how
  many there are in ``count_field``.

    from schemas.catalogue.profiles import load_profile

    enterprise = load_profile("enterprise")
    enterprise.anchor.item                  # 'enterprise_registration'
    enterprise.sides_fed_by("credit_record")  # (ProfileSide(side='credit_records', ...),)
    enterprise.schema                       # the expanded Avro schema, registered under <topic>-value

:func:`load_profile` checks the metadata against the schema and the catalogue and raises
:class:`govbus.exceptions.CatalogueError` naming the file and the problem.
"""

from __future__ import annotations

import copy
import functools
import json
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import fastavro
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from govbus.exceptions import CatalogueError
from schemas.catalogue.loader import load_catalogue
from schemas.catalogue.metadata import SharingClass
from schemas.catalogue.model import Catalogue

PROFILE_NAMES = ("enterprise", "person")
EVENT_FIELDS = ("event_id", "caused_by")
HEADER_EVENT_ID = "govbus.event_id"
"""Header of every profile message, tombstones too: the profile event's id (the same on every re-emit)."""
HEADER_CAUSED_BY = "govbus.caused_by"
"""Header of every profile message: the id of the canonical event that caused it."""


class SideKind(StrEnum):
    ANCHOR = "anchor"
    LIST = "list"
    LATEST = "latest"


class ProfileSide(BaseModel):
    """One item feeding a profile."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    side: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="name of the side in state and metrics")
    item: str = Field(description="catalogue item feeding this side")
    kind: SideKind
    anchor_field: str = Field(description="field of the item's record holding the profile key")
    field: str = Field(description="field of the profile record this side fills")
    count_field: str | None = Field(default=None, description="latest sides: field with the number of records")
    order_by: tuple[str, ...] = ()


class ProfileMetadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: dict[str, str]
    description: str
    key_field: str
    sharing_class: SharingClass
    sharing_conditions: str | None = None
    sides: tuple[ProfileSide, ...]


class ProfileDefinition:
    """A loaded profile: its metadata, sides and expanded Avro schema."""

    def __init__(self, metadata: ProfileMetadata, schema: dict[str, Any]) -> None:
        self.metadata = metadata
        self._schema = schema
        self.sides = metadata.sides
        self.anchor = next(s for s in metadata.sides if s.kind is SideKind.ANCHOR)

    @property
    def name(self) -> str:
        return self.metadata.profile

    @property
    def key_field(self) -> str:
        return self.metadata.key_field

    @property
    def schema(self) -> dict[str, Any]:
        """The expanded Avro schema (a fresh copy)."""
        return copy.deepcopy(self._schema)

    def side(self, name: str) -> ProfileSide:
        for side in self.sides:
            if side.side == name:
                return side
        raise CatalogueError(f"profile {self.name!r} has no side {name!r}; sides: {[s.side for s in self.sides]}")

    def sides_fed_by(self, item: str) -> tuple[ProfileSide, ...]:
        return tuple(s for s in self.sides if s.item == item)

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.item for s in self.sides))

    def __repr__(self) -> str:
        return f"ProfileDefinition({self.name!r}, sides={[s.side for s in self.sides]})"


def _directory() -> Traversable:
    return resources.files("schemas.catalogue.profiles")


@functools.cache
def load_profile(name: str) -> ProfileDefinition:
    """The profile ``name`` (``enterprise`` or ``person``), checked against the catalogue."""
    if name not in PROFILE_NAMES:
        raise CatalogueError(f"no profile {name!r}; known profiles: {', '.join(PROFILE_NAMES)}")
    directory = _directory()
    return read_profile(directory / f"{name}_profile.json", directory / f"{name}_profile.avsc", load_catalogue())


def load_profiles() -> list[ProfileDefinition]:
    """Every profile, in :data:`PROFILE_NAMES` order."""
    return [load_profile(name) for name in PROFILE_NAMES]


def read_profile(metadata_file: Traversable, schema_file: Traversable, catalogue: Catalogue) -> ProfileDefinition:
    """A profile from its two files (not cached)."""
    metadata = _read_metadata(metadata_file)
    try:
        raw_schema = json.loads(schema_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CatalogueError(f"{schema_file}: cannot read the profile schema: {error}") from None
    _check_sides(metadata, catalogue, metadata_file)
    schema = expand_item_references(raw_schema, catalogue, schema_file)
    _check_fields(metadata, schema, schema_file)
    return ProfileDefinition(metadata, schema)


def _read_metadata(file: Traversable) -> ProfileMetadata:
    try:
        return ProfileMetadata.model_validate(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as error:
        raise CatalogueError(f"{file}: cannot read the profile metadata: {error}") from None
    except pydantic.ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in error.errors(include_url=False))
        raise CatalogueError(f"{file}: invalid profile metadata: {problems}") from None


def _check_sides(metadata: ProfileMetadata, catalogue: Catalogue, file: Traversable) -> None:
    anchors = [s for s in metadata.sides if s.kind is SideKind.ANCHOR]
    if len(anchors) != 1:
        raise CatalogueError(f"{file}: a profile has exactly one anchor side, found {len(anchors)}")
    names = [s.side for s in metadata.sides]
    if len(set(names)) != len(names):
        raise CatalogueError(f"{file}: side names repeat: {names}")
    for side in metadata.sides:
        item = catalogue.get(side.item)
        fields = {f["name"] for f in item.record_schema["fields"]}
        missing = [f for f in (side.anchor_field, *side.order_by) if f not in fields]
        if missing:
            raise CatalogueError(f"{file}: side {side.side!r}: {side.item} has no field {', '.join(missing)}")
        if side.kind is SideKind.ANCHOR and item.key_fields != (side.anchor_field,):
            raise CatalogueError(f"{file}: anchor side {side.side!r} must be keyed by {side.anchor_field!r} alone; "
                                 f"{side.item} is keyed by {item.key_fields}")
        if (side.kind is SideKind.LATEST) != (side.count_field is not None):
            raise CatalogueError(f"{file}: side {side.side!r}: count_field is required for, and only for, latest sides")


def expand_item_references(schema: dict[str, Any], catalogue: Catalogue, file: Traversable) -> dict[str, Any]:
    """``schema`` with the first use of each item record name replaced by the item's schema."""
    by_name = {f"{item.schema['namespace']}.{item.schema['name']}": item for item in catalogue}
    defined: set[str] = set()

    def expand(node: Any) -> Any:
        if isinstance(node, str) and node in by_name:
            if node in defined:
                return node
            defined.add(node)
            return by_name[node].record_schema
        if isinstance(node, list):
            return [expand(branch) for branch in node]
        if isinstance(node, dict):
            return {key: (expand(value) if key in ("type", "items", "values", "fields") else value)
                    for key, value in node.items()}
        return node

    expanded: dict[str, Any] = expand(copy.deepcopy(schema))
    try:
        fastavro.parse_schema(expanded)
    except Exception as error:
        raise CatalogueError(f"{file}: the profile schema is not valid Avro once item schemas are in place: "
                             f"{error}") from None
    return expanded


def _check_fields(metadata: ProfileMetadata, schema: dict[str, Any], file: Traversable) -> None:
    declared = [f["name"] for f in schema.get("fields", [])]
    expected = [*EVENT_FIELDS[:1], metadata.key_field, EVENT_FIELDS[1]]
    for side in metadata.sides:
        expected.append(side.field)
        if side.count_field:
            expected.append(side.count_field)
    if sorted(declared) != sorted(expected):
        raise CatalogueError(f"{file}: the schema's fields {declared} do not match the metadata, "
                             f"which needs exactly {expected}")
    undocumented = [f["name"] for f in schema["fields"] if not str(f.get("doc", "")).strip()]
    if undocumented:
        raise CatalogueError(f"{file}: fields without a doc: {', '.join(undocumented)}")


__all__ = [
    "PROFILE_NAMES",
    "ProfileDefinition",
    "ProfileMetadata",
    "ProfileSide",
    "SideKind",
    "expand_item_references",
    "load_profile",
    "load_profiles",
    "read_profile",
]
