"""How the benchmarks print their figures."""

from __future__ import annotations

import math


def spread(values: list[float], fmt: str = ",.0f") -> str:
    """Every round's figure, e.g. ``(18,924, 18,883)`` (or ``(0.81, 0.77)`` with ``fmt=".2f"``), printed beside
    the median."""
    return "(" + ", ".join(f"{v:{fmt}}" for v in values) + ")"


def quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``ordered`` (sorted ascending), nearest rank: p99 of 30,000 values is
    the 29,700th smallest."""
    if not ordered:
        raise ValueError("no values")
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
