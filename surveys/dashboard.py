"""Everything the survey pages show, read from released figures in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q, Subquery

from portal.models import ENROLLMENT_BANDS, FRL_BANDS, Locale, Role, SchoolLevel, User
from surveys.models import COMMENT_READERS, MIN_GROUP, Answer, Cycle, Release, Tension
from surveys.services import figures_release
from surveys.stats import FEW, Figures

SEGMENT_LABELS = {
    "role": ("Role", dict(Role.choices)),
    "school_level": ("School level", dict(SchoolLevel.choices)),
    "enrollment_band": ("Enrollment", {key: label for key, label, _ in ENROLLMENT_BANDS}),
    "frl_band": ("Free/reduced lunch", {key: label for key, label, _ in FRL_BANDS}),
    "locale": ("Locale", dict(Locale.choices)),
}

# Box plot geometry, in SVG user units: positions 1..5 across the plot.
PLOT_LEFT, PLOT_WIDTH, ROW_HEIGHT = 250, 440, 46


def x_of(position: float) -> float:
    return PLOT_LEFT + (position - 1) / 4 * PLOT_WIDTH


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@dataclass
class BoxRow:
    figures: Figures
    y: float
    box: dict[str, float] | None


@dataclass
class Group:
    key: str
    name: str
    size: int
    hidden: str | None
    cells: dict[int, Figures]

    @property
    def too_small(self) -> bool:
        return self.hidden == FEW


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
class Dashboard:
    cycle: Cycle
    release: ReleaseInfo | None
    respondents: int
    tensions: list[Tension]
    district: dict[int, Figures]
    boxes: list[BoxRow]
    breakdowns: list[Breakdown]
    trend: list[tuple[Cycle, int, dict[int, Figures]]]
    comments: dict[int, list[str]]
    comments_shown: bool
    can_read_comments: bool
    own: dict[int, Answer]
    min_group: int = MIN_GROUP


def _boxes(district: dict[int, Figures]) -> list[BoxRow]:
    rows = []
    for index, figures in enumerate(district.values()):
        y = 30 + index * ROW_HEIGHT
        box = None
        if not figures.suppressed and figures.value("n"):
            box = {name: x_of(float(figures.value(name))) for name in ("min", "q1", "median", "q3", "max")}  # type: ignore[arg-type]
            box["width"] = box["q3"] - box["q1"]
        rows.append(BoxRow(figures, y, box))
    return rows


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


def _latest_releases(cycles: list[Cycle]) -> dict[int, Release]:
    """The latest release of each cycle, without the heavy parts: one query."""
    latest = Release.objects.filter(cycle=OuterRef("cycle")).order_by("-number").values("pk")[:1]
    return {
        release.cycle_id: release
        for release in Release.objects.filter(cycle__in=cycles, pk=Subquery(latest))
        .defer("export", "rows", "response_ids", "shown", "export_generalised", "exported_ids")
        .annotate(exportable=ExpressionWrapper(Q(export__isnull=False), output_field=BooleanField()))
    }


def _releases(cycles: list[Cycle], cycle: Cycle) -> dict[int, Release]:
    """The latest release of each cycle. Once `cycle` has closed, its closing release is
    made first, if it is not there yet."""
    releases = _latest_releases(cycles)
    found = releases.get(cycle.pk)
    if cycle.is_closed() and (found is None or not found.closing) and figures_release(cycle=cycle) is not None:
        releases = _latest_releases(cycles)
    return releases


def current_release(cycle: Cycle) -> Release | None:
    """The release every page shows for this cycle."""
    return _releases([cycle], cycle).get(cycle.pk)


def released_district(cycle: Cycle, tensions: dict[int, Tension]) -> tuple[Release | None, dict[int, Figures]]:
    """The district figures per tension of the cycle's current release."""
    release = current_release(cycle)
    return release, _cells(release.figures.get("district") if release else None, tensions)


def build_dashboard(cycle: Cycle, viewer: User) -> Dashboard:
    """The cycle's latest released figures; the comments when the viewer is one of their
    readers; and a principal's own answers, as they are now (they are theirs)."""
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
            (
                past,
                release.responses if release else 0,
                _cells(release.figures.get("district") if release else None, tensions),
            )
        )

    can_read = getattr(viewer, "role", "") in COMMENT_READERS
    comments_shown = respondents >= MIN_GROUP
    comments = (
        {int(number): texts for number, texts in figures.get("comments", {}).items()}
        if can_read and comments_shown
        else {}
    )
    own = {}
    if getattr(viewer, "role", "") == Role.PRINCIPAL:
        own = {
            a.tension.number: a
            for a in Answer.objects.filter(response__cycle=cycle, response__respondent=viewer).select_related("tension")
        }
    return Dashboard(
        cycle=cycle,
        release=ReleaseInfo(found.number, found.responses, found.closing, found.exportable, found.pk)  # type: ignore[attr-defined]
        if found
        else None,
        respondents=respondents,
        tensions=list(tensions.values()),
        district=district,
        boxes=_boxes(district),
        breakdowns=breakdowns,
        trend=trend,
        comments=comments,
        comments_shown=comments_shown,
        can_read_comments=can_read,
        own=own,
    )
