"""The catalogue of shared data items.

Each data item has, in ``schemas/catalogue/items/``, an Avro record schema (``<item>.avsc``)
and its catalogue metadata (``<item>.json``: code, titles, owning department, sharing class,
openness, the classification of every field, nested ones included, as personal with its masking
or not personal (:mod:`schemas.catalogue.classification`), key and identifier fields, update cycle,
legal basis, compatibility level), plus a hand-written pydantic model in
``schemas/catalogue/models/``. :func:`load_catalogue` reads and checks them all.

Topics and subjects follow :mod:`govbus.topic_names`: ``govbus.dept.<department>.<item>``,
``govbus.canonical.<item>``, ``govbus.dead-letter.<item>``, value subject ``<topic>-value``.
"""

from __future__ import annotations

from typing import Any

from schemas.catalogue.loader import load_catalogue
from schemas.catalogue.metadata import (
    CompatibilityLevel,
    Department,
    ItemMetadata,
    MaskingKind,
    SharingClass,
    UpdateCycle,
)
from schemas.catalogue.model import Catalogue, DataItem
from schemas.catalogue.types import IdentifierKind


def record_schema(item: str) -> dict[str, Any]:
    """The Avro record schema of catalogue item ``item`` (e.g. ``enterprise_registration``).

    Raises :class:`govbus.exceptions.UnknownDataItemError` (a ``ConfigurationError``) for an
    unknown item, listing the known ones.
    """
    return load_catalogue().get(item).record_schema


__all__ = [
    "Catalogue",
    "CompatibilityLevel",
    "DataItem",
    "Department",
    "IdentifierKind",
    "ItemMetadata",
    "MaskingKind",
    "SharingClass",
    "UpdateCycle",
    "load_catalogue",
    "record_schema",
]
