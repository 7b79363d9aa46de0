"""Chart geometry that knows no feature: wrapped labels and line charts, in SVG user units.

Pages and printed reports draw charts as inline SVG from these objects, so every number a
drawing needs (a coordinate, a label's line, which labels fit) is computed here and a
template only places shapes. Each chart's numbers are also shown as a table by the page.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# The average width of a glyph of the portal's sans-serif faces (system-ui, DejaVu Sans),
# in ems: enough to decide where a label wraps without measuring it in a browser.
GLYPH_EM = 0.58
LINE_GAP = 1.25  # a wrapped label's lines stand this many ems apart


def text_width(text: str, size: float) -> float:
    return round(len(text) * size * GLYPH_EM, 1)


def wrap(text: str, width: float, size: float) -> list[str]:
    """`text` in lines that each fit `width` units at font size `size`; never cut short: a word
    longer than a line (a school named in one hyphenated word) is broken across lines."""
    chars = max(8, int(width / (size * GLYPH_EM)))
    return textwrap.wrap(text, chars, break_long_words=True, break_on_hyphens=False) or [""]


@dataclass(frozen=True)
class TextLine:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class TextBlock:
    """A label of one or more lines; `y` is the first line's baseline."""

    x: float
    y: float
    lines: list[str]
    size: float
    anchor: str = "start"

    @property
    def line_height(self) -> float:
        return round(self.size * LINE_GAP, 1)

    @property
    def height(self) -> float:
        return round(len(self.lines) * self.line_height, 1)

    @property
    def placed(self) -> list[TextLine]:
        return [TextLine(self.x, round(self.y + n * self.line_height, 1), line) for n, line in enumerate(self.lines)]


def text_block(text: str, *, x: float, y: float, width: float, size: float, anchor: str = "start") -> TextBlock:
    return TextBlock(x=x, y=y, lines=wrap(text, width, size), size=size, anchor=anchor)


# ------------------------------------------------------------------------------ line charts


@dataclass(frozen=True)
class SeriesSpec:
    """One line to draw: its values per category (None: nothing to show there), how it looks."""

    key: str
    name: str
    values: Sequence[float | int | None]
    stroke: str
    dash: str = ""  # SVG stroke-dasharray; lines differ by pattern and marker, never by colour alone
    square: bool = False  # square markers instead of round ones


@dataclass
class Point:
    x: float
    y: float
    text: str
    marker_size: float
    text_below: bool = False  # set when another line's point stands just above this one

    @property
    def corner_x(self) -> float:
        return round(self.x - self.marker_size / 2, 1)

    @property
    def corner_y(self) -> float:
        return round(self.y - self.marker_size / 2, 1)

    @property
    def radius(self) -> float:
        return round(self.marker_size / 2, 1)

    @property
    def text_y(self) -> float:
        if self.text_below:
            return round(self.y + self.marker_size * 2.8, 1)
        return round(self.y - self.marker_size * 0.9, 1)


@dataclass(frozen=True)
class Series:
    key: str
    name: str
    stroke: str
    dash: str
    square: bool
    points: list[Point]
    paths: list[str]  # one path per run of categories that have a value


@dataclass(frozen=True)
class Tick:
    y: float
    text: str
    text_y: float


@dataclass(frozen=True)
class CategoryLabel:
    x: float
    text: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    ticks: list[Tick]
    labels: list[TextBlock]  # the categories' names, each wrapped to the room it has
    label_y: float
    series: list[Series]
    empty: list[CategoryLabel] = field(default_factory=list)  # categories where no line has a value
    empty_y: float = 0
    tick_x: float = 0
    font_size: float = 11
    grid_colour: str = "#d5dbe2"
    muted_colour: str = "#4f5b69"
    ink_colour: str = "#1b2430"

    @property
    def is_empty(self) -> bool:
        return all(not s.points for s in self.series)


def _separate_values(points: list[Point], font_size: float) -> None:
    """Where two lines' points stand close at one category, the lower one's value goes below it."""
    by_x: dict[float, list[Point]] = {}
    for point in points:
        by_x.setdefault(point.x, []).append(point)
    for column in by_x.values():
        column.sort(key=lambda point: point.y)
        for upper, lower in itertools.pairwise(column):
            if lower.y - upper.y < font_size * 1.4:
                lower.text_below = True


def _path(points: list[Point]) -> str:
    return " ".join(f"{'M' if n == 0 else 'L'}{p.x} {p.y}" for n, p in enumerate(points))


def line_chart(
    categories: Sequence[str],
    series: Sequence[SeriesSpec],
    *,
    y_min: float,
    y_max: float,
    ticks: Sequence[float],
    tick_text: Callable[[float], str],
    value_text: Callable[[float], str],
    width: int = 560,
    height: int = 200,
    left: float = 44,
    right_margin: float = 14,
    top: float = 18,
    bottom_margin: float = 38,
    max_labels: int = 12,
    show_values: bool = True,
    font_size: float = 11,
    empty_text: str = "none",
) -> LineChart:
    """Lines over categories spaced evenly across the plot; a value of None breaks the line.

    Category labels are thinned so that at most `max_labels` are written (every one is in the
    table beside the chart); values are written above their points when `show_values`."""
    right = width - right_margin
    bottom = height - bottom_margin
    count = len(categories)
    # The first and last points stand in from the axes, so their values clear the tick labels.
    inset = font_size * 2
    step = (right - left - 2 * inset) / (count - 1) if count > 1 else 0.0

    def x_at(index: int) -> float:
        return round(left + inset + index * step if count > 1 else (left + right) / 2, 1)

    def y_at(value: float) -> float:
        share = (value - y_min) / (y_max - y_min) if y_max != y_min else 0
        return round(bottom - share * (bottom - top), 1)

    marker = round(font_size * 0.6, 1)
    drawn = []
    for spec in series:
        points: list[Point] = []
        runs: list[list[Point]] = [[]]
        for index, value in enumerate(spec.values):
            if value is None:
                runs.append([])
                continue
            text = value_text(float(value)) if show_values else ""
            point = Point(x_at(index), y_at(float(value)), text, marker)
            points.append(point)
            runs[-1].append(point)
        drawn.append(
            Series(
                spec.key,
                spec.name,
                spec.stroke,
                spec.dash,
                spec.square,
                points,
                [_path(run) for run in runs if len(run) > 1],
            )
        )
    _separate_values([point for line in drawn for point in line.points], font_size)
    every = max(1, math.ceil(count / max_labels))
    written = [i for i in range(count) if i % every == 0 or i == count - 1]
    if len(written) > 1 and x_at(written[-1]) - x_at(written[-2]) < step * every * 0.75:
        written.pop(-2)  # the last label is always written; the one before it would touch it
    label_y = round(bottom + font_size * 3, 1)
    labels = []
    for position, i in enumerate(written):
        # A label wraps to the room it has: at most the gap to its nearer neighbour (less a
        # space between them), and no further than the chart's edges.
        x = x_at(i)
        gaps = [abs(x_at(written[n]) - x) for n in (position - 1, position + 1) if 0 <= n < len(written)]
        room = min([*(gap - font_size / 2 for gap in gaps), 2 * x, 2 * (width - x)])
        labels.append(text_block(categories[i], x=x, y=label_y, width=room, size=font_size, anchor="middle"))
    # Labels of more than one line make the chart taller, so that none is cut off.
    extra = max((label.height - font_size * LINE_GAP for label in labels), default=0)
    empty = [
        CategoryLabel(x_at(i), empty_text)
        for i in range(count)
        if all(i >= len(spec.values) or spec.values[i] is None for spec in series)
    ]
    return LineChart(
        width=width,
        height=math.ceil(height + extra),
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        ticks=[Tick(y_at(t), tick_text(t), round(y_at(t) + font_size * 0.35, 1)) for t in ticks],
        labels=labels,
        label_y=label_y,
        series=drawn,
        empty=empty,
        empty_y=round(bottom - font_size * 0.5, 1),
        tick_x=round(left - 6, 1),
        font_size=font_size,
    )
