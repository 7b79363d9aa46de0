"""Everything the survey pages show, read from released figures in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    JSONField,
    OuterRef,
    Q,
    Subquery,
    When,
)
from django.db.models.fields.json import KeyTransform
from django_stubs_ext import WithAnnotations

from portal.lib.figures import cached_figures
from portal.models import ENROLLMENT_BANDS, FRL_BANDS, Locale, Role, SchoolLevel, User
from surveys.charts import TensionChart, TrendChart, tension_chart, trend_chart
from surveys.models import MIN_GROUP, SURVEY_ROLES, Answer, Cycle, Release, SurveyAccess, Tension
from surveys.services import figures_release
from surveys.stats import CELL_REASONS, FEW, NOBODY, PROTECTED, REASONS, Figures, percent
from surveys.study import STUDY, Study, StudyShares

SEGMENT_LABELS = {
    # Only the roles that answer: a segment lists every value, with or without responses.
    "role": ("Role", {role: label for role, label in Role.choices if role in SURVEY_ROLES}),
    "school_level": ("School level", dict(SchoolLevel.choices)),
    "enrollment_band": ("Enrollment", {key: label for key, label, _ in ENROLLMENT_BANDS}),
    "frl_band": ("Free/reduced lunch", {key: label for key, label, _ in FRL_BANDS}),
    "locale": ("Locale", dict(Locale.choices)),
}


NO_STUDY_FIGURE = "no figure"
# The page shows the first few comments on each tension, and a tension's comments a page at a
# time: a cycle of thousands of responses has thousands of comments, read only as they are shown.
COMMENTS_PREVIEW = 5
COMMENTS_PAGE = 50
# Past any page a cycle could have; a larger number asks for the last page.
COMMENTS_LAST_PAGE = 10_000
# The trend charts draw the latest cycles; the table beside them has every cycle.
TREND_CYCLES = 6


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@dataclass(frozen=True)
class CommentsWanted:
    """Which comments a page shows: the first few on each tension, or one page of the comments
    on `tension`."""

    tension: int | None = None
    page: int = 1

    def span(self, number: int) -> tuple[int, int] | None:
        """Which of the comments on tension `number` to read: the first and how many (None: none)."""
        if self.tension is None:
            return 0, COMMENTS_PREVIEW
        if number == self.tension:
            return (self.page - 1) * COMMENTS_PAGE, COMMENTS_PAGE
        return None


@dataclass
class TensionComments:
    """The comments on one tension a page shows, out of `count`, as released."""

    tension: Tension
    count: int
    texts: list[str]
    page: int = 1
    per_page: int = COMMENTS_PREVIEW

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def first(self) -> int:
        """The number of the first comment shown, counting from 1."""
        return (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return self.first + len(self.texts) - 1

    @property
    def more(self) -> int:
        """How many are not shown among the first few."""
        return self.count - len(self.texts)

    @property
    def past_the_end(self) -> bool:
        return self.page > self.pages

    @property
    def has_previous(self) -> bool:
        return 1 < self.page <= self.pages

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def previous_page(self) -> int:
        return self.page - 1

    @property
    def next_page(self) -> int:
        return self.page + 1


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
    groups: list[Group] = field(default_factory=list)  # the groups the release has
    nobody: list[Group] = field(default_factory=list)  # the segment's values nobody who responded has

    @property
    def rows(self) -> list[Group]:
        """Every value of the segment in its order, those without responses included."""
        order = {key: index for index, key in enumerate(SEGMENT_LABELS[self.segment][1])}
        return sorted(
            [*self.groups, *self.nobody],
            key=lambda group: (group.key == "", order.get(group.key, len(order)), group.key),
        )


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


@dataclass(frozen=True)
class ResponseRate:
    """How many of those invited responded, as released.

    Invited: the people in SURVEY_ROLES whose accounts are active and were created by the
    day the cycle closes (the roster keeps no history: someone who has left since is no
    longer counted, and a cycle that closed before anyone was on the roster has no count).
    Responses: the release's count, shown from MIN_GROUP on like every released count; an
    import of paper responses from people without an account can take it above the
    invited count, and then no share is given."""

    responses: int
    invited: int

    @property
    def too_few(self) -> bool:
        return self.responses < MIN_GROUP

    @property
    def pct(self) -> int | None:
        if self.too_few or self.responses > self.invited:
            return None
        return percent(self.responses, self.invited)

    @property
    def text(self) -> str:
        """As the pages say it: "18 of 24 invited principals and district leaders, 75%"."""
        who = f"invited {respondents_label()}"
        responses = f"fewer than {MIN_GROUP}" if self.too_few else str(self.responses)
        if not self.invited:
            return f"{responses} responses; nobody in the survey's roles was on the roster when the cycle closed"
        if self.pct is None and not self.too_few:
            return f"{responses} responses from {self.invited} {who} and imported responses"
        share = f", {self.pct}%" if self.pct is not None else ""
        return f"{responses} of {self.invited} {who}{share}"


def reason_key() -> str:
    """What each reason for an empty cell means, as the key under the segment tables says it."""
    return (
        f"“{CELL_REASONS[FEW]}”: it would rest on fewer than {MIN_GROUP} people; "
        f"“{CELL_REASONS[PROTECTED]}”: with the other figures it would let a smaller group be worked out; "
        f"“{CELL_REASONS[NOBODY]}”: nobody in the group responded."
    )


def respondents_label() -> str:
    """Who answers the survey, as the pages name them ("principals and district leaders")."""
    names = [f"{Role(role).label.lower()}s" for role in SURVEY_ROLES]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def invited_count(cycle: Cycle) -> int:
    """How many people `cycle` invited (see ResponseRate). Counted over the whole roster, so kept
    for a few minutes like the district's other figures: a roster change shows within them."""

    def count() -> int:
        return User.objects.active().filter(role__in=SURVEY_ROLES, date_joined__date__lte=cycle.closes_on).count()

    invited, _counted_at = cached_figures("survey-invited", (cycle.pk, cycle.closes_on.isoformat()), count)
    return invited


@dataclass(frozen=True)
class ReferenceRow:
    """One tension's district figures beside the study's published shares (None: it gave none)."""

    figures: Figures
    study: StudyShares | None

    def _study(self, name: str) -> str:
        value = getattr(self.study, name) if self.study is not None else None
        return NO_STUDY_FIGURE if value is None else f"{value}%"

    @property
    def study_left(self) -> str:
        return self._study("left_pct")

    @property
    def study_right(self) -> str:
        return self._study("right_pct")

    @property
    def study_resources(self) -> str:
        return self._study("resources_pct")

    @property
    def study_priority(self) -> str:
        return self._study("high_priority_pct")


@dataclass
class Dashboard:
    """What the survey pages show. The parts only some pages draw (the charts, the segment
    tables, the study's table, the trend charts) are drawn when first read: a page that finds
    them in its cached markup never draws them."""

    cycle: Cycle
    release: ReleaseInfo | None
    respondents: int
    rate: ResponseRate
    tensions: list[Tension]
    district: dict[int, Figures]
    trend: list[TrendRow]
    # Tensions with comments, each with its first few; or, when a page asks for one tension's
    # comments, that tension alone with the page asked for (`comments_of`).
    comments: list[TensionComments]
    comments_of: TensionComments | None
    comments_shown: bool
    can_read_comments: bool
    own: dict[int, Answer]
    # The release's groups per segment, as released (the segment tables are read from them).
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    min_group: int = MIN_GROUP
    study: Study = STUDY

    @property
    def segment_columns(self) -> int:
        """The columns of a segment's row after its name: responses, then one per tension."""
        return len(self.tensions) + 1

    @property
    def trend_cycles(self) -> list[TrendRow]:
        """The cycles the trend charts draw (the table has every one)."""
        return self.trend[-TREND_CYCLES:]

    @cached_property
    def charts(self) -> list[TensionChart]:
        return [tension_chart(figures) for figures in self.district.values()]

    @cached_property
    def reference(self) -> list[ReferenceRow]:
        return [ReferenceRow(figures, STUDY.for_tension(number)) for number, figures in self.district.items()]

    @cached_property
    def breakdowns(self) -> list[Breakdown]:
        tensions = {tension.number: tension for tension in self.tensions}
        breakdowns = []
        for segment, (label, choices) in SEGMENT_LABELS.items():
            order = {key: index for index, key in enumerate(choices)}
            entries = sorted(
                self.groups.get(segment, []),
                key=lambda entry: (entry["key"] == "", order.get(entry["key"], len(order)), entry["key"]),
            )
            breakdown = Breakdown(segment, label)
            for entry in entries:
                key = entry["key"]
                name = choices.get(key, key) if key else "Not recorded"
                breakdown.groups.append(
                    Group(key, name, entry["size"], entry["hidden"], _cells(entry["cells"], tensions))
                )
            if self.release is not None:
                present = {entry["key"] for entry in entries}
                breakdown.nobody = [
                    Group(key, name, 0, NOBODY, {}) for key, name in choices.items() if key not in present
                ]
            breakdowns.append(breakdown)
        return breakdowns

    @cached_property
    def trend_charts(self) -> list[TrendChart]:
        drawn = self.trend_cycles
        names = [row.cycle.name for row in drawn]
        return [trend_chart(tension, names, [row.cells[tension.number] for row in drawn]) for tension in self.tensions]


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

    class _Parts(TypedDict):
        exportable: bool
        district_figures: dict[str, Any] | None
        group_figures: dict[str, Any] | None
        comment_figures: dict[str, list[str]] | None

    # A release as pages read it: whether it has an export, without loading the export, and of
    # its figures the district's, or the groups and comments too for the cycle a page is about.
    LatestRelease = WithAnnotations[Release, _Parts]


def _latest_releases(
    cycles: Sequence[Cycle], full: Cycle | None = None, comments: bool = False
) -> dict[int, LatestRelease]:
    """The latest release of each cycle, without the heavy parts: of its figures only the
    district's (`district_figures`), and for `full` alone the groups (`group_figures`) and, when
    asked, the comments (`comment_figures`): the segments and comments of every past cycle are
    most of a release. One query."""
    latest = Release.objects.filter(cycle=OuterRef("cycle")).order_by("-number").values("pk")[:1]
    return {
        release.cycle_id: release
        for release in Release.objects.filter(cycle__in=cycles, pk=Subquery(latest))
        .defer("figures", "export", "rows", "response_ids", "shown", "export_generalised", "exported_ids")
        .annotate(
            exportable=ExpressionWrapper(Q(export__isnull=False), output_field=BooleanField()),
            district_figures=KeyTransform("district", "figures"),
            group_figures=_of_full(full, "groups"),
            comment_figures=_of_full(full if comments else None, "comments"),
        )
    }


def _of_full(full: Cycle | None, part: str) -> Case:
    """One part of the figures of `full`'s release (none of the other releases')."""
    return Case(When(cycle=full, then=KeyTransform(part, "figures")), default=None, output_field=JSONField())


def _releases(
    cycles: Sequence[Cycle], cycle: Cycle, *, full: bool = False, comments: bool = False
) -> dict[int, LatestRelease]:
    """The latest release of each cycle (with `cycle`'s groups, and its comments when asked, when
    `full`). Once `cycle` has closed, its closing release is made first, if it is not there yet."""

    def read() -> dict[int, LatestRelease]:
        return _latest_releases(cycles, cycle if full else None, comments)

    releases = read()
    found = releases.get(cycle.pk)
    if cycle.is_closed() and (found is None or not found.closing) and figures_release(cycle=cycle) is not None:
        releases = read()
    return releases


def current_release(cycle: Cycle) -> LatestRelease | None:
    """The release every page shows for this cycle."""
    return _releases([cycle], cycle).get(cycle.pk)


def released_district(cycle: Cycle, tensions: dict[int, Tension]) -> tuple[LatestRelease | None, dict[int, Figures]]:
    """The district figures per tension of the cycle's current release."""
    release = current_release(cycle)
    return release, _cells(release.district_figures if release else None, tensions)


def _shown_comments(
    released: dict[str, list[str]], tensions: dict[int, Tension], wanted: CommentsWanted
) -> tuple[list[TensionComments], TensionComments | None]:
    """The comments a page shows, of those released per tension (alphabetical)."""
    listed: list[TensionComments] = []
    for number, tension in tensions.items():
        span = wanted.span(number)
        if span is None:
            continue
        texts = released.get(str(number), [])
        start, count = span
        if wanted.tension is not None:
            shown = TensionComments(
                tension, len(texts), texts[start : start + count], page=wanted.page, per_page=COMMENTS_PAGE
            )
            return [], shown
        if texts:
            listed.append(TensionComments(tension, len(texts), texts[start : start + count], per_page=COMMENTS_PREVIEW))
    return listed, None


def build_dashboard(
    cycle: Cycle,
    viewer: User | None,
    comments: CommentsWanted | None = None,
    cycles: list[Cycle] | None = None,
) -> Dashboard:
    """The cycle's latest released figures; the `comments` asked for when the viewer is one of
    their readers (none asked: none read); and a principal's own answers, as they are now (they
    are theirs). No viewer: no one's view (an export), with neither. `cycles`: the cycles opened
    up to `cycle`, oldest first, when the caller has read them already."""
    access = SurveyAccess.of(viewer)
    tensions = {tension.number: tension for tension in Tension.objects.all()}
    can_read = access.can_read_comments
    wanted = comments if can_read else None
    if wanted is not None and wanted.tension is not None and wanted.tension not in tensions:
        wanted = CommentsWanted()
    if cycles is None:
        cycles = list(Cycle.objects.filter(opens_on__lte=cycle.opens_on).order_by("opens_on"))
    releases = _releases(cycles, cycle, full=True, comments=wanted is not None)
    found = releases.get(cycle.pk)
    groups: dict[str, Any] = (found.group_figures or {}) if found else {}
    respondents = found.responses if found else 0
    district = _cells(found.district_figures if found else None, tensions)

    trend = []
    for past in cycles:
        release = releases.get(past.pk)
        trend.append(
            TrendRow(
                past,
                release.responses if release else 0,
                _cells(release.district_figures if release else None, tensions),
            )
        )

    comments_shown = respondents >= MIN_GROUP
    listed: list[TensionComments] = []
    one: TensionComments | None = None
    if found is not None and wanted is not None and comments_shown:
        listed, one = _shown_comments(found.comment_figures or {}, tensions, wanted)
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
        rate=ResponseRate(respondents, invited_count(cycle)),
        tensions=list(tensions.values()),
        district=district,
        trend=trend,
        comments=listed,
        comments_of=one,
        comments_shown=comments_shown,
        can_read_comments=can_read,
        own=own,
        groups=groups,
    )
