"""How the benchmarks print their figures."""

from __future__ import annotations


def spread(values: list[float]) -> str:
    """Every round's rate, e.g. ``(18,924, 18,883)``, printed beside the median."""
    return "(" + ", ".join(f"{v:,.0f}" for v in values) + ")"
