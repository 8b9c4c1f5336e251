"""Every field of an item is classified: personal (with its masking) or not personal.

Masking is default-deny: what the catalogue does not say is not personal is masked for subscribers
(:mod:`govbus.sharing.shaping`) and left out of the public feed. So that this default never has to
decide anything for the catalogue's own fields, the loader refuses an item whose schema has a field
the metadata does not classify, names a field the schema does not have, or calls a person's
identifier (a resident identity number) not personal.

Field paths name the leaves of the record schema:

- a top-level field by its name: ``owner_name``;
- a field of a nested record after its parent's path and a dot: ``address.city`` (the parent's
  type is the record, or a union with it);
- ``[]`` after the path of an array, for its elements: ``encumbrances[].holder`` (the field
  ``holder`` of each record of the array ``encumbrances``);
- a field holding a record (or an array of records) is a *container*: only its leaves are
  classified, never the container itself; arrays of non-records, maps and every other type are
  leaves, classified whole.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

import fastavro.schema

from govbus.exceptions import CatalogueError
from schemas.catalogue.metadata import ItemMetadata, MaskingKind
from schemas.catalogue.types import IdentifierKind

PERSON_IDENTIFIERS = frozenset({IdentifierKind.RESIDENT_ID})
"""Identifier kinds that identify a natural person: their fields must be personal."""


def leaf_paths(schema: dict[str, Any]) -> list[str]:
    """Every field path of the record ``schema`` that holds a value (not a container), in schema order."""
    expanded = fastavro.schema.expand_schema(schema)
    fields = expanded.get("fields", []) if isinstance(expanded, dict) else []
    return list(dict.fromkeys(_record_leaves(fields, "")))


def _record_leaves(fields: Iterable[dict[str, Any]], prefix: str) -> Iterator[str]:
    for field in fields:
        path = prefix + field["name"]
        records = list(_nested_records(field["type"], path))
        if not records:
            yield path
        for nested_fields, nested_path in records:
            yield from _record_leaves(nested_fields, nested_path + ".")


def _nested_records(avro_type: Any, path: str) -> Iterator[tuple[list[dict[str, Any]], str]]:
    """(fields, path) of each record reachable from ``avro_type`` through unions and arrays."""
    if isinstance(avro_type, list):
        for branch in avro_type:
            yield from _nested_records(branch, path)
    elif isinstance(avro_type, dict):
        if avro_type.get("type") == "record":
            yield avro_type.get("fields", []), path
        elif avro_type.get("type") == "array":
            yield from _nested_records(avro_type["items"], path + "[]")


def top_field(path: str) -> str:
    """The top-level field a path starts with: ``encumbrances[].holder`` -> ``encumbrances``."""
    for index, char in enumerate(path):
        if char in ".[":
            return path[:index]
    return path


def containers_of(paths: Iterable[str]) -> frozenset[str]:
    """Every container path above ``paths``: ``a[].b`` -> ``a`` and ``a[]``."""
    found: set[str] = set()
    for path in paths:
        found.update(path[:index] for index, char in enumerate(path) if char in ".[")
    return frozenset(found)


def check_classification(schema: dict[str, Any], metadata: ItemMetadata, file: object) -> None:
    """Refuse ``metadata`` unless it classifies every leaf of ``schema`` exactly once, names no other
    path, and keeps every person's identifier personal; :class:`CatalogueError` says what to change."""
    where = f"{file}: {metadata.item}"
    leaves = leaf_paths(schema)
    personal, not_personal = list(metadata.personal_fields), list(metadata.not_personal_fields)
    repeated = sorted({p for p in not_personal if not_personal.count(p) > 1})
    if repeated:
        raise CatalogueError(f"{where}: not_personal_fields lists {', '.join(repeated)} more than once; keep one")
    for group, named in (("personal_fields", personal), ("not_personal_fields", not_personal)):
        _check_named(where, group, named, leaves)
    both = [p for p in personal if p in not_personal]
    if both:
        raise CatalogueError(f"{where}: {', '.join(both)} is in both personal_fields and not_personal_fields; "
                             "keep it in personal_fields if it can identify or describe a person, else remove it there")
    unclassified = [p for p in leaves if p not in metadata.personal_fields and p not in not_personal]
    if unclassified:
        kinds = ", ".join(kind.value for kind in MaskingKind)
        raise CatalogueError(
            f"{where}: field(s) not classified: {', '.join(unclassified)}; add each to personal_fields with its "
            f"masking ({kinds}) if it can identify or describe a person, else to not_personal_fields "
            "(an unclassified field is masked for every subscriber and left out of the public feed)")
    _check_person_identifiers(where, metadata)


def _check_named(where: str, group: str, named: Collection[str], leaves: list[str]) -> None:
    containers = containers_of(leaves)
    whole = [p for p in named if p in containers]
    if whole:
        inside = [leaf for leaf in leaves if any(leaf.startswith(c) and leaf != c for c in whole)]
        raise CatalogueError(f"{where}: {group} names {', '.join(whole)}, which hold(s) records: classify the "
                             f"fields inside instead ({', '.join(inside)})")
    missing = [p for p in named if p not in leaves]
    if missing:
        raise CatalogueError(f"{where}: {group} names fields the schema does not have: {', '.join(missing)} "
                             f"(field paths: {', '.join(leaves)})")


def _check_person_identifiers(where: str, metadata: ItemMetadata) -> None:
    for name, kind in metadata.identifier_fields.items():
        if kind in PERSON_IDENTIFIERS and name not in metadata.personal_fields:
            raise CatalogueError(
                f"{where}: {name} holds a {kind.value}, which identifies a person, so it must be personal: move it "
                f'from not_personal_fields to personal_fields as "{name}": "{MaskingKind.RESIDENT_ID.value}"')
