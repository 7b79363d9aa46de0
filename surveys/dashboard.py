"""Everything the survey dashboard shows, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Count

from portal.figures import cached_figures
from portal.models import ENROLLMENT_BANDS, FRL_BANDS, Locale, Role, SchoolLevel, User
from surveys.models import MIN_GROUP, Answer, Cycle, Response, Tension
from surveys.stats import Arm, Breakdown, Figures, complete, grouped_figures, segment_breakdown

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


@dataclass
class BoxRow:
    figures: Figures
    y: float
    box: dict[str, float] | None


@dataclass
class Dashboard:
    cycle: Cycle
    respondents: int
    tensions: list[Tension]
    district: dict[int, Figures]
    boxes: list[BoxRow]
    breakdowns: list[Breakdown]
    trend: list[tuple[Cycle, int, dict[int, Figures]]]
    comments: dict[int, list[str]]
    comments_shown: bool
    own: dict[int, Answer]
    as_of: datetime | None = None


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


def build_dashboard(cycle: Cycle, viewer: User) -> Dashboard:
    """The cycle's figures (counted at most FIGURES_SECONDS ago, or since the last
    response), with the viewer's own answers when the viewer is a principal."""
    shared, as_of = cached_figures("survey", (cycle.pk,), lambda: _district_figures(cycle))
    own = {}
    if viewer.role == Role.PRINCIPAL:
        own = {
            a.tension.number: a
            for a in Answer.objects.filter(response__cycle=cycle, response__respondent=viewer).select_related("tension")
        }
    return replace(shared, own=own, as_of=as_of)


def _district_figures(cycle: Cycle) -> Dashboard:
    tensions = {tension.number: tension for tension in Tension.objects.all()}
    cycles = list(Cycle.objects.filter(opens_on__lte=cycle.opens_on).order_by("opens_on"))
    source = Answer.objects.filter(response__cycle__in=cycles)

    # Respondents per cycle and per segment group of this cycle, in one query.
    sizes: dict[str, dict[str, int]] = {segment: {} for segment in SEGMENT_LABELS}
    per_cycle: dict[int, int] = {}
    for row in (
        Response.objects.filter(cycle__in=cycles).values("cycle_id", *SEGMENT_LABELS).annotate(n=Count("pk")).order_by()
    ):
        per_cycle[row["cycle_id"]] = per_cycle.get(row["cycle_id"], 0) + row["n"]
        if row["cycle_id"] == cycle.pk:
            for segment in SEGMENT_LABELS:
                sizes[segment][row[segment]] = sizes[segment].get(row[segment], 0) + row["n"]
    respondents = per_cycle.get(cycle.pk, 0)

    # The district, each segment and every cycle so far: one query.
    arms = [
        Arm("district", None, cycle.pk),
        *(Arm(segment, f"response__{segment}", cycle.pk) for segment in SEGMENT_LABELS),
        Arm("trend", "response__cycle_id"),
    ]
    grouped = grouped_figures(source, arms, tensions)
    district = complete(grouped.get(("district", ""), {}), tensions)
    if respondents < MIN_GROUP:
        for figures in district.values():
            figures.suppressed = True
    breakdowns = [
        segment_breakdown(grouped, segment, label, choices, tensions, sizes[segment])
        for segment, (label, choices) in SEGMENT_LABELS.items()
    ]
    trend = []
    for past in cycles:
        figures = complete(grouped.get(("trend", str(past.pk)), {}), tensions)
        count = per_cycle.get(past.pk, 0)
        for value in figures.values():
            value.suppressed = value.suppressed or count < MIN_GROUP
        trend.append((past, count, figures))

    comments_shown = respondents >= MIN_GROUP
    comments: dict[int, list[str]] = {}
    if comments_shown:
        rows = source.filter(response__cycle=cycle).exclude(comment="").order_by("tension__number", "comment")
        for number, text in rows.values_list("tension__number", "comment"):
            comments.setdefault(number, []).append(text)

    return Dashboard(
        cycle=cycle,
        respondents=respondents,
        tensions=list(tensions.values()),
        district=district,
        boxes=_boxes(district),
        breakdowns=breakdowns,
        trend=trend,
        comments=comments,
        comments_shown=comments_shown,
        own={},
    )
