"""Chart geometry for the district dashboard, computed here so templates only place shapes.

The month chart draws two bars per month, 0-100 % between `BASELINE_Y` and `TOP_Y`; the
numbers themselves are always in the table beside the chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

HEIGHT = 200
BASELINE_Y = 170
TOP_Y = 20
AXIS_X = 40
FIRST_COLUMN_X = 48
COLUMN_WIDTH = 44
BAR_WIDTH = 16
LABEL_Y = 188
EMPTY_LABEL_Y = 164


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float


def bar(x: float, percentage: float | None) -> Bar:
    height = round((percentage or 0) * (BASELINE_Y - TOP_Y) / 100, 1)
    return Bar(x=x, y=round(BASELINE_Y - height, 1), height=height)


@dataclass(frozen=True)
class MonthColumn:
    month: date
    published: int
    label_x: float
    failures: Bar
    evolution: Bar


@dataclass(frozen=True)
class MonthChart:
    columns: list[MonthColumn]
    width: int
    height: int = HEIGHT
    axis_x: int = AXIS_X
    baseline_y: int = BASELINE_Y
    top_y: int = TOP_Y
    bar_width: int = BAR_WIDTH
    label_y: int = LABEL_Y
    empty_label_y: int = EMPTY_LABEL_Y

    @property
    def axis_end_x(self) -> int:
        return self.width - 10

    @property
    def zero_label_y(self) -> int:
        return self.baseline_y + 4

    @property
    def full_label_y(self) -> int:
        return self.top_y + 4

    @property
    def tick_label_x(self) -> int:
        return self.axis_x - 6


def month_chart(months: Sequence[Mapping[str, Any]]) -> MonthChart:
    """Bars for the share of each month's entries that document failures and evolution."""
    columns = []
    for index, month in enumerate(months):
        x = FIRST_COLUMN_X + index * COLUMN_WIDTH
        columns.append(
            MonthColumn(
                month=month["month"],
                published=month["published"],
                label_x=x + BAR_WIDTH,
                failures=bar(x, month["failures_pct"]),
                evolution=bar(x + BAR_WIDTH + 1, month["evolution_pct"]),
            )
        )
    return MonthChart(columns=columns, width=len(months) * COLUMN_WIDTH + 60)
