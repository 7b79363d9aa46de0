"""Everything the survey pages show, read from released figures in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q, Subquery
from django_stubs_ext import WithAnnotations

from portal.models import ENROLLMENT_BANDS, FRL_BANDS, Locale, Role, SchoolLevel, User
from surveys.models import MIN_GROUP, Answer, Cycle, Release, SurveyAccess, Tension
from surveys.services import figures_release
from surveys.stats import FEW, REASONS, Figures

SEGMENT_LABELS = {
    "role": ("Role", dict(Role.choices)),
    "school_level": ("School level", dict(SchoolLevel.choices)),
    "enrollment_band": ("Enrollment", {key: label for key, label, _ in ENROLLMENT_BANDS}),
    "frl_band": ("Free/reduced lunch", {key: label for key, label, _ in FRL_BANDS}),
    "locale": ("Locale", dict(Locale.choices)),
}

# Box plot geometry, in SVG user units: positions 1..5 across the plot, one row per tension.
CHART_WIDTH = 720
PLOT_LEFT, PLOT_WIDTH = 250, 440
ROW_HEIGHT = 46
FIRST_ROW_Y = 30  # the middle line of the first row
BOX_HALF_HEIGHT = 12
LABEL_DROP = 5  # a row's text stands on a line this far below its middle
GRID_TOP, TICK_LABEL_Y = 16, 12
# Below the last row: the grid lines end, then the drawing.
GRID_BELOW_ROWS, CHART_BELOW_GRID = 20, 20
POSITIONS = (1, 2, 3, 4, 5)


def x_of(position: float) -> float:
    return round(PLOT_LEFT + (position - 1) / 4 * PLOT_WIDTH, 2)


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@dataclass(frozen=True)
class Box:
    """Where one tension's five-number summary is drawn across the plot."""

    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float

    @property
    def width(self) -> float:
        return round(self.q3 - self.q1, 2)


@dataclass(frozen=True)
class BoxRow:
    figures: Figures
    y: int  # the row's middle line
    box: Box | None  # None: the positions are not shown

    @property
    def text_y(self) -> int:
        return self.y + LABEL_DROP

    @property
    def box_top(self) -> int:
        return self.y - BOX_HALF_HEIGHT

    @property
    def box_bottom(self) -> int:
        return self.y + BOX_HALF_HEIGHT


@dataclass(frozen=True)
class BoxPlot:
    """The box plots of the district's positions, everything the drawing needs in place."""

    rows: list[BoxRow]
    width: int = CHART_WIDTH
    grid_top: int = GRID_TOP
    tick_label_y: int = TICK_LABEL_Y
    box_height: int = 2 * BOX_HALF_HEIGHT
    # A row without a box says why in the middle of the scale.
    note_x: float = x_of(3)

    @property
    def ticks(self) -> list[tuple[int, float]]:
        return [(position, x_of(position)) for position in POSITIONS]

    @property
    def grid_bottom(self) -> int:
        return len(self.rows) * ROW_HEIGHT + GRID_BELOW_ROWS

    @property
    def height(self) -> int:
        return self.grid_bottom + CHART_BELOW_GRID


@dataclass
class Group:
    key: str
    name: str
    size: int
    hidden: str | None
    cells: dict[int, Figures]

    @property
    def reason(self) -> str:
        """Why the group is not shown (empty when it is)."""
        return REASONS.get(self.hidden or "", "")


@dataclass
class Breakdown:
    segment: str
    label: str
    groups: list[Group] = field(default_factory=list)


@dataclass
class ReleaseInfo:
    """Which release a page shows: its number and size, never its time (that could date a response)."""

    number: int
    responses: int
    closing: bool
    has_export: bool
    pk: int

    @property
    def label(self) -> str:
        return f"the {ordinal(self.number)} release"


@dataclass
class TrendRow:
    """One cycle as last released: how many responded (shown from MIN_GROUP on) and its figures."""

    cycle: Cycle
    responses: int
    cells: dict[int, Figures]

    @property
    def too_few(self) -> bool:
        return self.responses < MIN_GROUP


@dataclass
class Dashboard:
    cycle: Cycle
    release: ReleaseInfo | None
    respondents: int
    tensions: list[Tension]
    district: dict[int, Figures]
    boxes: BoxPlot
    breakdowns: list[Breakdown]
    trend: list[TrendRow]
    comments: dict[int, list[str]]
    comments_shown: bool
    can_read_comments: bool
    own: dict[int, Answer]
    min_group: int = MIN_GROUP


def box_plot(district: dict[int, Figures]) -> BoxPlot:
    rows = []
    for index, figures in enumerate(district.values()):
        box = None
        if not figures.suppressed and figures.value("n"):
            x = {name: x_of(float(cast(float, figures.value(name)))) for name in ("min", "q1", "median", "q3", "max")}
            box = Box(x["min"], x["q1"], x["median"], x["q3"], x["max"])
        rows.append(BoxRow(figures, FIRST_ROW_Y + index * ROW_HEIGHT, box))
    return BoxPlot(rows)


def _cells(data: dict[str, Any] | None, tensions: dict[int, Tension]) -> dict[int, Figures]:
    """Figures per tension from a release's JSON; everything hidden when there is none."""
    cells = {}
    for number, tension in tensions.items():
        cell = (data or {}).get(str(number))
        if cell is None:
            cells[number] = Figures(tension, {}, dict.fromkeys(("position", "resources", "priority"), FEW))
        else:
            cells[number] = Figures(tension, dict(cell["values"]), dict(cell["hidden"]))
    return cells


if TYPE_CHECKING:

    class _Exportable(TypedDict):
        exportable: bool

    # A release as pages read it: whether it has an export, without loading the export.
    LatestRelease = WithAnnotations[Release, _Exportable]


def _latest_releases(cycles: list[Cycle]) -> dict[int, LatestRelease]:
    """The latest release of each cycle, without the heavy parts: one query."""
    latest = Release.objects.filter(cycle=OuterRef("cycle")).order_by("-number").values("pk")[:1]
    return {
        release.cycle_id: release
        for release in Release.objects.filter(cycle__in=cycles, pk=Subquery(latest))
        .defer("export", "rows", "response_ids", "shown", "export_generalised", "exported_ids")
        .annotate(exportable=ExpressionWrapper(Q(export__isnull=False), output_field=BooleanField()))
    }


def _releases(cycles: list[Cycle], cycle: Cycle) -> dict[int, LatestRelease]:
    """The latest release of each cycle. Once `cycle` has closed, its closing release is
    made first, if it is not there yet."""
    releases = _latest_releases(cycles)
    found = releases.get(cycle.pk)
    if cycle.is_closed() and (found is None or not found.closing) and figures_release(cycle=cycle) is not None:
        releases = _latest_releases(cycles)
    return releases


def current_release(cycle: Cycle) -> LatestRelease | None:
    """The release every page shows for this cycle."""
    return _releases([cycle], cycle).get(cycle.pk)


def released_district(cycle: Cycle, tensions: dict[int, Tension]) -> tuple[LatestRelease | None, dict[int, Figures]]:
    """The district figures per tension of the cycle's current release."""
    release = current_release(cycle)
    return release, _cells(release.figures.get("district") if release else None, tensions)


def build_dashboard(cycle: Cycle, viewer: User | None) -> Dashboard:
    """The cycle's latest released figures; the comments when the viewer is one of their
    readers; and a principal's own answers, as they are now (they are theirs). No viewer:
    no one's view (an export), with neither."""
    access = SurveyAccess.of(viewer)
    tensions = {tension.number: tension for tension in Tension.objects.all()}
    cycles = list(Cycle.objects.filter(opens_on__lte=cycle.opens_on).order_by("opens_on"))
    releases = _releases(cycles, cycle)
    found = releases.get(cycle.pk)
    figures: dict[str, Any] = found.figures if found else {}
    respondents = found.responses if found else 0
    district = _cells(figures.get("district"), tensions)

    breakdowns = []
    for segment, (label, choices) in SEGMENT_LABELS.items():
        order = {key: index for index, key in enumerate(choices)}
        entries = sorted(
            figures.get("groups", {}).get(segment, []),
            key=lambda entry: (entry["key"] == "", order.get(entry["key"], len(order)), entry["key"]),
        )
        breakdown = Breakdown(segment, label)
        for entry in entries:
            key = entry["key"]
            name = choices.get(key, key) if key else "Not recorded"
            breakdown.groups.append(Group(key, name, entry["size"], entry["hidden"], _cells(entry["cells"], tensions)))
        breakdowns.append(breakdown)

    trend = []
    for past in cycles:
        release = releases.get(past.pk)
        trend.append(
            TrendRow(
                past,
                release.responses if release else 0,
                _cells(release.figures.get("district") if release else None, tensions),
            )
        )

    can_read = access.can_read_comments
    comments_shown = respondents >= MIN_GROUP
    comments = (
        {int(number): texts for number, texts in figures.get("comments", {}).items()}
        if can_read and comments_shown
        else {}
    )
    own = {}
    if access.sees_own_answers:
        own = {
            a.tension.number: a
            for a in Answer.objects.filter(response__cycle=cycle, response__respondent=viewer).select_related("tension")
        }
    return Dashboard(
        cycle=cycle,
        release=ReleaseInfo(found.number, found.responses, found.closing, found.exportable, found.pk)
        if found
        else None,
        respondents=respondents,
        tensions=list(tensions.values()),
        district=district,
        boxes=box_plot(district),
        breakdowns=breakdowns,
        trend=trend,
        comments=comments,
        comments_shown=comments_shown,
        can_read_comments=can_read,
        own=own,
    )
