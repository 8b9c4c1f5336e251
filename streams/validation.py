"""Validation rules of canonical records: each failure names the field and the rule."""

from __future__ import annotations

from typing import Any

from govbus import identifiers
from govbus.exceptions import ValidationError


def validate_enterprise_registration(record: dict[str, Any]) -> None:
    """Raise :class:`ValidationError` for the first rule ``record`` breaks."""
    problem = identifiers.check_uscc(record["uscc"])
    if problem:
        raise ValidationError("uscc", "uscc.check_character" if "check character" in problem else "uscc.format",
                              f"{record['uscc']!r} is not a valid unified social credit code: {problem}")
    if not record["name"].strip():
        raise ValidationError("name", "required", "the enterprise name is empty")
    problem = identifiers.check_division_code(record["division_code"])
    if problem:
        raise ValidationError("division_code", "division.format", f"{record['division_code']!r} {problem}")
    if record["registered_capital_cents"] < 0:
        raise ValidationError("registered_capital_cents", "non_negative", "registered capital is negative")
