"""Local dialects of catalogue data items and how their records become canonical.

    from streams.dialects import dialects_for

    for dialect in dialects_for("enterprise_registration"):   # canonical + zhejiang-aic-v2 + guangdong-scjg-v1
        dialect.topic("govbus")        # where its records arrive
        normalised = dialect.normalise(raw)    # Normalised(record, fixes) or ValidationError
        normalised.fixes               # (Fix(field, kind, before, after), ...)

Every item in :data:`ITEMS` has the identity dialect ``canonical`` (its department topic) and two
local dialects; see each item's module for the quirks they model. Local records arrive on
``<prefix>.local.<department>.<item>.<dialect>`` (:func:`govbus.topic_names.local_topic`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from govbus.exceptions import ConfigurationError
from schemas.catalogue import DataItem, load_catalogue
from streams.dialects import enterprise_registration as _enterprise
from streams.dialects import identity_verification as _identity
from streams.dialects import real_estate_registration as _real_estate
from streams.dialects import tax_payment_certificate as _tax
from streams.dialects.mapped import MappedDialect
from streams.dialects.model import (
    DIALECT_HEADER,
    FIXES_HEADER,
    Dialect,
    Fix,
    FixKind,
    IdentityDialect,
    Normalised,
    fixes_from_header,
    fixes_header,
)

_BUILDERS: dict[str, tuple[Callable[[DataItem], MappedDialect], ...]] = {
    "enterprise_registration": (_enterprise.zhejiang_aic_v2, _enterprise.guangdong_scjg_v1),
    "identity_verification": (_identity.hubei_rkk_v1, _identity.sichuan_gaj_v3),
    "tax_payment_certificate": (_tax.shandong_jin3_v1, _tax.jiangsu_etax_v2),
    "real_estate_registration": (_real_estate.guangdong_bdc_v1, _real_estate.sichuan_bdc_v2),
}
ITEMS: tuple[str, ...] = tuple(_BUILDERS)
"""The data items that have local dialects."""


@functools.cache
def local_dialects(item: str) -> tuple[MappedDialect, ...]:
    """The local dialects of ``item`` (none for an item without dialects)."""
    catalogue_item = load_catalogue().get(item)
    return tuple(build(catalogue_item) for build in _BUILDERS.get(item, ()))


@functools.cache
def dialects_for(item: str) -> tuple[Dialect, ...]:
    """The identity dialect of ``item`` (its department topic), then its local dialects."""
    return (IdentityDialect(load_catalogue().get(item)), *local_dialects(item))


def get_dialect(item: str, name: str) -> Dialect:
    """The dialect ``name`` of ``item``; :class:`ConfigurationError` listing the known ones if none."""
    for dialect in dialects_for(item):
        if dialect.name == name:
            return dialect
    known = ", ".join(d.name for d in dialects_for(item))
    raise ConfigurationError(f"{item} has no dialect {name!r}; known: {known}")


__all__ = [
    "DIALECT_HEADER",
    "FIXES_HEADER",
    "ITEMS",
    "Dialect",
    "Fix",
    "FixKind",
    "IdentityDialect",
    "MappedDialect",
    "Normalised",
    "dialects_for",
    "fixes_from_header",
    "fixes_header",
    "get_dialect",
    "local_dialects",
]
