"""Line charts as inline SVG (pure): each series one ``<polyline>``, no script, nothing fetched.

The x axis spans the samples' times (first to last), the y axis 0 to a round number at or above the largest
value (1, 2 or 5 times a power of ten). Each polyline carries its series' name (``data-series``) and raw values
(``data-values``, space-separated), so a reader (a test, a screen reader's ``<title>``) need not invert the
scaling. A chart without any point says so instead of drawing empty axes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from govbus.operations.console.history import Series

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass(frozen=True)
class Box:
    """The chart's size and the margins around the plotting area (SVG user units)."""

    width: int = 560
    height: int = 180
    left: int = 56
    right: int = 12
    top: int = 12
    bottom: int = 26

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom


def round_up(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value`` (1 for 0 or less)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power  # not reached


def x_range(series: Sequence[Series]) -> tuple[float, float]:
    """The first and last time of every point (a single time gets a one-second span ending at it)."""
    times = [t for s in series for t, _ in s.points]
    first, last = min(times), max(times)
    return (last - 1.0, last) if last <= first else (first, last)


def polyline_points(points: Sequence[tuple[float, float]], xs: tuple[float, float], y_top: float,
                    box: Box = Box()) -> str:
    """``x,y x,y ...`` of ``points`` in ``box``: time ``xs[0]`` at the plot's left, ``xs[1]`` at its right, 0 at
    its bottom and ``y_top`` at its top (SVG's y grows downwards)."""
    span = xs[1] - xs[0]
    placed = []
    for t, value in points:
        x = box.left + (t - xs[0]) / span * box.plot_width
        y = box.top + box.plot_height * (1 - value / y_top)
        placed.append(f"{x:.1f},{y:.1f}")
    return " ".join(placed)


def _clock(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).astimezone().strftime("%H:%M:%S")


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.2g}"


def svg_chart(chart_id: str, title: str, series: Sequence[Series], box: Box = Box()) -> str:
    """An ``<svg>`` line chart of ``series`` (empty ones are left out), titled ``title``."""
    drawn = [s for s in series if s.points]
    label = escape(title)
    head = (f'<svg id="{escape(chart_id)}" class="chart" role="img" aria-label="{label}" '
            f'viewBox="0 0 {box.width} {box.height}" width="{box.width}" height="{box.height}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{label}</title>')
    if not drawn:
        return (f'{head}<text class="empty" x="{box.width / 2:.0f}" y="{box.height / 2:.0f}" '
                'text-anchor="middle">no data yet</text></svg>')
    xs = x_range(drawn)
    y_top = round_up(max(value for s in drawn for _, value in s.points))
    bottom, right = box.top + box.plot_height, box.left + box.plot_width
    parts = [head, f'<path class="axis" d="M{box.left},{box.top} V{bottom} H{right}" fill="none" stroke="#888"/>',
             f'<text x="{box.left - 4}" y="{box.top + 4}" text-anchor="end">{escape(_number(y_top))}</text>',
             f'<text x="{box.left - 4}" y="{bottom}" text-anchor="end">0</text>',
             f'<text x="{box.left}" y="{box.height - 6}">{_clock(xs[0])}</text>',
             f'<text x="{right}" y="{box.height - 6}" text-anchor="end">{_clock(xs[1])}</text>']
    for index, line in enumerate(drawn):
        colour = COLOURS[index % len(COLOURS)]
        values = " ".join(f"{value:g}" for _, value in line.points)
        last_x, last_y = polyline_points(line.points[-1:], xs, y_top, box).split(",")
        parts.append(f'<polyline class="series" data-series="{escape(line.name)}" data-values="{values}" '
                     f'points="{polyline_points(line.points, xs, y_top, box)}" fill="none" stroke="{colour}" '
                     f'stroke-width="2"><title>{escape(line.name)}</title></polyline>'
                     f'<circle cx="{last_x}" cy="{last_y}" r="3" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def legend(series: Sequence[Series], unit: str) -> str:
    """The series' names with their colours and last values (HTML), in the order :func:`svg_chart` draws them."""
    items = []
    for index, line in enumerate(s for s in series if s.points):
        colour = COLOURS[index % len(COLOURS)]
        items.append(f'<li><span class="swatch" style="background:{colour}"></span>{escape(line.name)}: '
                     f'{escape(_number(line.points[-1][1]))} {escape(unit)}</li>')
    return f'<ul class="legend">{"".join(items)}</ul>' if items else ""
