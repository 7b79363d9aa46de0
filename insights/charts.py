"""Chart geometry for the district dashboard, its report and the school pages, computed here so
templates only place shapes; the numbers themselves are always in a table beside each chart.

Openness over time is a line chart of the share of each month's published practices that
document failures and evolution (a month with nothing published breaks the lines). Who learns
from whom is a heat map: one row per school learned from, one column per learning school.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from insights.district import Exchange, ExchangeSchool
from portal.lib.charts import LineChart, SeriesSpec, TextBlock, line_chart, text_block

FAILURES_COLOUR = "#9c4516"
EVOLUTION_COLOUR = "#1f4e79"


def openness_chart(months: Sequence[Mapping[str, Any]], *, width: int = 600, height: int = 260) -> LineChart:
    """The share of each month's entries that document failures, and that show their evolution."""
    return line_chart(
        [month["month"].strftime("%b %Y") for month in months],
        [
            SeriesSpec("failures", "Document failures", [m["failures_pct"] for m in months], FAILURES_COLOUR),
            SeriesSpec(
                "evolution",
                "Show evolution (2+ iterations)",
                [m["evolution_pct"] for m in months],
                EVOLUTION_COLOUR,
                dash="6 3",
                square=True,
            ),
        ],
        y_min=0,
        y_max=100,
        ticks=[0, 25, 50, 75, 100],
        tick_text=lambda t: f"{t:g}%",
        value_text=lambda v: f"{v:g}%",
        width=width,
        height=height,
        max_labels=6,
        show_values=len(months) <= 12,
        font_size=13,
        left=52,
    )


# Heat map, in SVG user units.
CELL = 30
LABELS_WIDTH = 230
HEADER_HEIGHT = 34
FONT = 11
HEAT_FILLS = ["#ffffff", "#dbe7f3", "#a9c4e0", "#5b8bbf", "#1f4e79"]
HEAT_TEXT = ["#1b2430", "#1b2430", "#1b2430", "#ffffff", "#ffffff"]
SAME_SCHOOL_FILL = "#eef1f4"
GRID_STROKE = "#d5dbe2"


@dataclass(frozen=True)
class HeatCell:
    x: float
    y: float
    target: ExchangeSchool  # the learning school (the column)
    count: int
    level: int  # 0 (none) to 4 (the most)
    same_school: bool

    @property
    def fill(self) -> str:
        return SAME_SCHOOL_FILL if self.same_school else HEAT_FILLS[self.level]

    @property
    def text_fill(self) -> str:
        return HEAT_TEXT[self.level]

    @property
    def text_x(self) -> float:
        return self.x + CELL / 2

    @property
    def text_y(self) -> float:
        return round(self.y + CELL / 2 + FONT * 0.35, 1)


@dataclass(frozen=True)
class HeatRow:
    number: int
    school: ExchangeSchool
    label: TextBlock
    cells: list[HeatCell]


@dataclass(frozen=True)
class HeatColumn:
    number: int
    school: ExchangeSchool
    x: float

    @property
    def text_x(self) -> float:
        return self.x + CELL / 2


@dataclass(frozen=True)
class HeatMap:
    rows: list[HeatRow]
    columns: list[HeatColumn]
    width: int
    height: int
    exchange: Exchange
    cell: int = CELL
    header_y: float = HEADER_HEIGHT - 10
    grid_stroke: str = GRID_STROKE
    font_size: int = FONT

    @property
    def levels(self) -> list[tuple[int, str]]:
        """The key: each shade and the counts it stands for."""
        most = self.exchange.most
        if not most:
            return []
        bounds = [math.ceil(most * level / 4) for level in range(5)]
        key = [(0, "none")]
        for level in range(1, 5):
            low, high = bounds[level - 1] + 1, bounds[level]
            if high >= low:
                key.append((level, str(high) if low == high else f"{low}–{high}"))
        return key


def _level(count: int, most: int) -> int:
    return 0 if not count or not most else max(1, math.ceil(count / most * 4))


def heat_map(exchange: Exchange) -> HeatMap:
    most = exchange.most
    rows, columns = [], []
    for index, school in enumerate(exchange.schools):
        columns.append(HeatColumn(index + 1, school, LABELS_WIDTH + index * CELL))
    for index, (school, cells) in enumerate(exchange.rows):
        y = HEADER_HEIGHT + index * CELL
        label = text_block(f"{index + 1}. {school.name}", x=LABELS_WIDTH - 8, y=0, width=LABELS_WIDTH - 12, size=FONT)
        # Centre the label's lines on the row.
        first = round(y + CELL / 2 + FONT * 0.35 - (len(label.lines) - 1) * label.line_height / 2, 1)
        label = TextBlock(x=label.x, y=first, lines=label.lines, size=FONT, anchor="end")
        rows.append(
            HeatRow(
                index + 1,
                school,
                label,
                [
                    HeatCell(
                        LABELS_WIDTH + column * CELL,
                        y,
                        target,
                        count,
                        _level(count, most),
                        target.id == school.id,
                    )
                    for column, (target, count) in enumerate(cells)
                ],
            )
        )
    size = len(exchange.schools)
    return HeatMap(
        rows=rows,
        columns=columns,
        width=LABELS_WIDTH + size * CELL + 4,
        height=HEADER_HEIGHT + size * CELL + 4,
        exchange=exchange,
    )
