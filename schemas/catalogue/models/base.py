"""The base of every item's pydantic model and the cross-field rules they share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from schemas.catalogue.types import field_error


class CatalogueRecord(BaseModel):
    """One record of a data item, field for field as its Avro schema says.

    Unknown fields are refused; enum fields hold their symbol as a plain string, so
    ``model_dump()`` is ready for Avro (dates stay :class:`datetime.date`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)


def require_identifier_for_kind(record: BaseModel, kind_field: str, by_kind: Mapping[str, str]) -> None:
    """The identifier field ``by_kind`` names for the record's kind is set, the others null.

    E.g. ``owner_kind`` NATURAL_PERSON needs ``owner_resident_id`` and no ``owner_uscc``.
    """
    kind = str(getattr(record, kind_field))
    wanted = by_kind[kind]
    if getattr(record, wanted) is None:
        raise field_error("identifier.required", f"is required because {kind_field} is {kind}", field=wanted)
    for other in sorted(set(by_kind.values()) - {wanted}):
        if getattr(record, other) is not None:
            raise field_error("identifier.unexpected", f"must be null because {kind_field} is {kind}", field=other)


def require_order(record: BaseModel, earlier: str, later: str) -> None:
    """``earlier`` is on or before ``later`` when both are set."""
    first: dt.date | None = getattr(record, earlier)
    second: dt.date | None = getattr(record, later)
    if first is not None and second is not None and second < first:
        raise field_error("date.order", f"{second.isoformat()} is before {earlier} {first.isoformat()}", field=later)


def require_not_above(record: BaseModel, smaller: str, larger: str) -> None:
    """``smaller`` does not exceed ``larger`` when both are set."""
    low: int | None = getattr(record, smaller)
    high: int | None = getattr(record, larger)
    if low is not None and high is not None and low > high:
        raise field_error("amount.above_limit", f"{low} exceeds {larger} {high}", field=smaller)
