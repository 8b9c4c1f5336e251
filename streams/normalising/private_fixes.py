"""The fixes a canonical record's ``govbus.fixes`` header lists, with personal values masked.

A fix shows a field's value before and after normalisation, so a reader of the canonical topic (or the demo's
table of fixes) would see personal values in clear there even when every delivery masks them. Default-deny,
as for deliveries: a field the catalogue classifies not personal keeps its values; a personal one is masked by
its kind (``110105********0021``); anything else is masked whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from govbus.sharing.item_plan import kind
from govbus.sharing.masking import mask
from streams.dialects import Fix


def masked_fixes(item: Any, fixes: Iterable[Fix]) -> tuple[Fix, ...]:
    """``fixes`` of ``item``'s record with every value the catalogue does not call not personal masked."""
    public = set(item.not_personal_fields)
    personal = {path: kind(how) for path, how in item.personal_fields.items()}
    return tuple(fix if fix.field in public else _masked(fix, personal.get(fix.field, "full")) for fix in fixes)


def _masked(fix: Fix, how: str) -> Fix:
    before, after = mask(how, fix.before), mask(how, fix.after)
    return fix._replace(before=None if before is None else str(before), after=None if after is None else str(after))
