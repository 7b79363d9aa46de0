"""Where the survey's charts put each shape, computed from released figures (never from answers).

Per tension, one drawing: the poles named at both ends; the positions' box plot on the
scale 1 to 5 (its ticks stand under the poles); the shares leaning left, balanced and
leaning right as a diverging stacked bar centred on the balanced middle; and, where the
"Look Both Ways" study published shares, the study's bar beneath for comparison. Over time,
per tension, the median and the shares leaning each way by cycle, as lines. Every chart's
numbers are in a table on the page as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from portal.lib.charts import LineChart, SeriesSpec, TextBlock, line_chart, text_block
from surveys.models import Tension
from surveys.stats import Figures
from surveys.study import STUDY, StudyShares

WIDTH = 360
FONT = 11
PLOT_LEFT, PLOT_RIGHT = 66, 350
CENTRE = (PLOT_LEFT + PLOT_RIGHT) / 2
UNITS_PER_PCT = (PLOT_RIGHT - PLOT_LEFT) / 2 / 100  # a side holds up to 100 %
SEGMENT_LABEL_MIN = 26  # a share is written inside its segment only where it fits
BAR_HEIGHT = 20
STUDY_BAR_HEIGHT = 14
BOX_HALF = 8
ROW_GAP = 10

# Colours, each with a text colour readable on it (WCAG AA); the lines and bars also differ by
# place or pattern, never by colour alone.
LEFT_FILL, LEFT_TEXT = "#1f4e79", "#ffffff"
BALANCED_FILL, BALANCED_TEXT = "#d5dbe2", "#1b2430"
RIGHT_FILL, RIGHT_TEXT = "#9c4516", "#ffffff"
STUDY_LEFT_FILL, STUDY_RIGHT_FILL, STUDY_TEXT = "#c4d6ea", "#f1cdb8", "#1b2430"
INK, MUTED, GRID = "#1b2430", "#4f5b69", "#d5dbe2"
BOX_FILL, BOX_STROKE, MEDIAN_STROKE = "#cfe0f1", "#1f4e79", "#9c4516"


def x_of(position: float) -> float:
    """Where a position 1–5 stands across the plot."""
    return round(PLOT_LEFT + (position - 1) / 4 * (PLOT_RIGHT - PLOT_LEFT), 1)


@dataclass(frozen=True)
class Segment:
    key: str  # left, balanced, right
    x: float
    width: float
    pct: int
    fill: str
    text_fill: str

    @property
    def label_x(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def labelled(self) -> bool:
        return self.width >= SEGMENT_LABEL_MIN


@dataclass(frozen=True)
class Bar:
    top: float
    height: float
    segments: list[Segment]
    # The middle the study does not break down (drawn as an outline), when this is the study's bar.
    gap_x: float | None = None
    gap_width: float = 0

    @property
    def text_y(self) -> float:
        return round(self.top + self.height / 2 + FONT * 0.35, 1)

    @property
    def bottom(self) -> float:
        return self.top + self.height


def diverging(left: int, middle: int, right: int, *, top: float, height: float, study: bool = False) -> Bar:
    """Shares as a bar centred on the middle share: leaning left to its left, right to its right."""
    half = middle / 2 * UNITS_PER_PCT
    left_width, right_width = left * UNITS_PER_PCT, right * UNITS_PER_PCT
    left_x = round(CENTRE - half - left_width, 1)
    segments = [
        Segment(
            "left",
            left_x,
            round(left_width, 1),
            left,
            STUDY_LEFT_FILL if study else LEFT_FILL,
            STUDY_TEXT if study else LEFT_TEXT,
        )
    ]
    if not study:
        segments.append(
            Segment("balanced", round(CENTRE - half, 1), round(2 * half, 1), middle, BALANCED_FILL, BALANCED_TEXT)
        )
    segments.append(
        Segment(
            "right",
            round(CENTRE + half, 1),
            round(right_width, 1),
            right,
            STUDY_RIGHT_FILL if study else RIGHT_FILL,
            STUDY_TEXT if study else RIGHT_TEXT,
        )
    )
    if study:
        return Bar(top, height, segments, gap_x=round(CENTRE - half, 1), gap_width=round(2 * half, 1))
    return Bar(top, height, segments)


@dataclass(frozen=True)
class BoxGeometry:
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float

    @property
    def width(self) -> float:
        return round(self.q3 - self.q1, 1)


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class TensionChart:
    """One tension's drawing; `district` or `box` is None where the figures are not shown."""

    figures: Figures
    study: StudyShares | None
    left_pole: TextBlock
    right_pole: TextBlock
    tick_y: float
    ticks: list[Tick]
    grid_top: float
    grid_bottom: float
    box_y: float
    box: BoxGeometry | None
    district: Bar | None
    district_top: float
    study_bar: Bar | None
    height: float
    width: int = WIDTH
    font_size: int = FONT
    box_half: int = BOX_HALF
    note_x: float = CENTRE
    label_x: int = 0

    @property
    def ink(self) -> str:
        return INK

    @property
    def muted(self) -> str:
        return MUTED

    @property
    def grid(self) -> str:
        return GRID

    @property
    def box_fill(self) -> str:
        return BOX_FILL

    @property
    def box_stroke(self) -> str:
        return BOX_STROKE

    @property
    def median_stroke(self) -> str:
        return MEDIAN_STROKE

    @property
    def box_top(self) -> float:
        return self.box_y - BOX_HALF

    @property
    def box_bottom(self) -> float:
        return self.box_y + BOX_HALF

    @property
    def box_height(self) -> int:
        return 2 * BOX_HALF

    @property
    def box_text_y(self) -> float:
        return round(self.box_y + FONT * 0.35, 1)

    @property
    def district_text_y(self) -> float:
        return round(self.district_top + BAR_HEIGHT / 2 + FONT * 0.35, 1)

    @property
    def study_text_y(self) -> float:
        return self.study_bar.text_y if self.study_bar else 0


def _number(figures: Figures, name: str) -> float:
    return float(cast(float, figures.value(name)))


def tension_chart(figures: Figures) -> TensionChart:
    tension = figures.tension
    pole_width = (PLOT_RIGHT - PLOT_LEFT) / 2 - 6
    # A no-break space keeps each arrow with its pole's nearest word.
    left_pole = text_block(f"←\u00a0{tension.left_label}", x=PLOT_LEFT, y=FONT, width=pole_width, size=FONT)
    right_pole = text_block(
        f"{tension.right_label}\u00a0→", x=PLOT_RIGHT, y=FONT, width=pole_width, size=FONT, anchor="end"
    )
    poles_bottom = max(left_pole.height, right_pole.height)
    tick_y = round(poles_bottom + FONT + 2, 1)
    box_y = tick_y + ROW_GAP + BOX_HALF
    box = None
    if not figures.suppressed and figures.value("n"):
        box = BoxGeometry(*(x_of(_number(figures, name)) for name in ("min", "q1", "median", "q3", "max")))
    district_top = box_y + BOX_HALF + ROW_GAP
    district = None
    if not figures.suppressed and figures.value("n"):
        district = diverging(
            int(_number(figures, "lean_left_pct")),
            int(_number(figures, "balanced_pct")),
            int(_number(figures, "lean_right_pct")),
            top=district_top,
            height=BAR_HEIGHT,
        )
    bottom = district_top + BAR_HEIGHT
    shares = STUDY.for_tension(tension.number)
    study_bar = None
    if shares is not None and shares.has_shares:
        study_bar = diverging(
            cast(int, shares.left_pct),
            cast(int, shares.other_pct),
            cast(int, shares.right_pct),
            top=bottom + 6,
            height=STUDY_BAR_HEIGHT,
            study=True,
        )
        bottom = study_bar.bottom
    return TensionChart(
        figures=figures,
        study=shares,
        left_pole=left_pole,
        right_pole=right_pole,
        tick_y=tick_y,
        ticks=[Tick(x_of(p), str(p)) for p in (1, 2, 3, 4, 5)],
        grid_top=tick_y + 4,
        grid_bottom=box_y + BOX_HALF + 2,
        box_y=box_y,
        box=box,
        district=district,
        district_top=district_top,
        study_bar=study_bar,
        height=round(bottom + 4, 1),
    )


# ------------------------------------------------------------------------------- over time

TREND_WIDTH = 360
TREND_PANEL = 120


@dataclass(frozen=True)
class TrendChart:
    """One tension over the cycles: the median (1–5) above, the shares leaning each way below."""

    tension: Tension
    median: LineChart
    shares: LineChart
    width: int = TREND_WIDTH

    @property
    def shares_offset(self) -> int:
        """The lower panel starts where the upper one ends (below its cycles' names)."""
        return self.median.height

    @property
    def height(self) -> int:
        return self.shares_offset + self.shares.height

    @property
    def shares_transform(self) -> str:
        return f"translate(0 {self.shares_offset})"


def _value_or_none(figures: Figures, name: str) -> float | None:
    if figures.suppressed:
        return None
    value = figures.value(name)
    return None if value is None else float(cast(float, value))


def trend_chart(tension: Tension, cycle_names: Sequence[str], cells: Sequence[Figures]) -> TrendChart:
    """`cells` holds this tension's figures for each cycle, in the order of `cycle_names`."""
    median = line_chart(
        cycle_names,
        [SeriesSpec("median", "Median position", [_value_or_none(f, "median") for f in cells], BOX_STROKE)],
        y_min=1,
        y_max=5,
        ticks=[1, 3, 5],
        tick_text=lambda t: f"{t:g}",
        value_text=lambda v: f"{v:g}",
        width=TREND_WIDTH,
        height=TREND_PANEL,
        max_labels=6,
        empty_text="not shown",
    )
    shares = line_chart(
        cycle_names,
        [
            SeriesSpec("left", "Leaning left", [_value_or_none(f, "lean_left_pct") for f in cells], LEFT_FILL),
            SeriesSpec(
                "right",
                "Leaning right",
                [_value_or_none(f, "lean_right_pct") for f in cells],
                RIGHT_FILL,
                dash="5 3",
                square=True,
            ),
        ],
        y_min=0,
        y_max=100,
        ticks=[0, 50, 100],
        tick_text=lambda t: f"{t:g}%",
        value_text=lambda v: f"{v:g}%",
        width=TREND_WIDTH,
        height=TREND_PANEL + 10,
        max_labels=6,
        empty_text="not shown",
    )
    return TrendChart(tension, median, shares)
