"""Default-deny shaping of values by field path: masked, in clear, or masked because nobody said otherwise.

A plan (:class:`~govbus.sharing.item_plan.ItemPlan`) says, for every field path it delivers (the
catalogue's notation, :mod:`schemas.catalogue.classification`: ``owner_name``,
``encumbrances[].holder``), whether it is masked and how, or sent in clear. :class:`PathRules` applies
that to a record's values and walks nested records and arrays of records. Anything the rules do not
name, such as a field a newer writer schema added inside a nested record, which reaches the connector
decoded by that writer schema before the catalogue classifies it, is masked whole
(:data:`UNCLASSIFIED_MASKING`): a field is sent in clear only because the catalogue calls it not
personal or a grant unmasks it, never because it is new.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from govbus.sharing.masking import mask
from schemas.catalogue.classification import containers_of

UNCLASSIFIED_MASKING = "full"
"""How a field the catalogue does not classify is masked: nothing of it kept (``******``)."""


@dataclass(frozen=True)
class PathRules:
    """Which field paths are masked (and how) and which are sent in clear; the rest are masked whole."""

    masked: Mapping[str, str]
    clear: frozenset[str]
    containers: frozenset[str]
    """paths holding records or arrays of records, walked into"""

    @classmethod
    def of(cls, masked: Mapping[str, str], clear: Collection[str]) -> PathRules:
        return cls(masked, frozenset(clear), containers_of([*masked, *clear]))

    def shape(self, path: str, value: Any, hits: dict[str, None]) -> Any:
        """``value`` at ``path`` as a subscriber may see it; every path masked with a value is added to ``hits``."""
        if value is None:
            return None
        if path in self.masked:
            hits[path] = None
            return mask(self.masked[path], value)
        if path in self.containers:
            if isinstance(value, Mapping):
                return {name: self.shape(f"{path}.{name}", inner, hits) for name, inner in value.items()}
            if isinstance(value, list | tuple):
                return [self.shape(f"{path}[]", inner, hits) for inner in value]
        elif path in self.clear:
            return value
        hits[path] = None
        return mask(UNCLASSIFIED_MASKING, value)
