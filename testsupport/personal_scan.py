"""Finding personal values in text a run wrote (logs, headers, tables): resident identity numbers whose check
character is right (a masked one, ``110101********1239``, is not found). Mobile numbers are not looked for: an
11-digit number starting with 1 is as often a tax authority's or an enterprise's code."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from govbus.identifiers import check_resident_id

_RESIDENT_ID = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9X](?![0-9])")


def personal_values(text: str) -> set[str]:
    """The whole resident identity numbers (valid ones only) in ``text``."""
    return {match for match in _RESIDENT_ID.findall(text) if check_resident_id(match) is None}


def scan_files(paths: Iterable[Path]) -> dict[str, set[str]]:
    """File -> the personal values in it, for every readable text file of ``paths`` that holds any."""
    found = {}
    for path in paths:
        if path.is_file():
            values = personal_values(path.read_text(encoding="utf-8", errors="replace"))
            if values:
                found[str(path)] = values
    return found
