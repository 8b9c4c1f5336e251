"""Labelled Prometheus metrics on a hot path: each child looked up once.

``metric.labels(...)`` validates and joins its label values on every call (about 9 µs here, more
than the ``inc()`` it precedes); :class:`Children` keeps each child it made by its label values.
"""

from __future__ import annotations

from typing import Any


class Children:
    """The children of one labelled metric, by label values (in the metric's label order)."""

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child
