"""The district dashboard: is the district learning from itself?

Everything is counted by the database in a fixed number of queries: one UNION ALL for the
schools' sharing figures and openness over time (read from the practice summaries that
insights.summaries keeps as practices change, so no count goes over every practice), one
UNION ALL for every flow between schools (adoptions, adaptations, visits, sessions hosted),
one for the most adopted and adapted practices, one for featured practices, and the
survey's tension 7.
"""

from __future__ import annotations

import heapq
import operator
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.http import Http404, HttpResponse, QueryDict
from django.utils import timezone

from insights import summaries
from insights.forms import DashboardFilterForm
from insights.models import (
    DistrictDay,
    DistrictMonth,
    FlowDay,
    FlowKind,
    FlowMark,
    FlowSchoolTotal,
    FlowTotal,
    PracticeDay,
    PracticeMonth,
    PracticeTotal,
)
from insights.summaries import summaries_ensure
from portal.lib.csvfile import csv_response
from portal.models import Role, School, SchoolLevel, User
from practices.models import Adoption, Practice, Status
from surveys.dashboard import released_district
from surveys.models import Cycle, Tension
from surveys.stats import SUPPRESSED, Figures, percent
from surveys.study import STUDY, Study, StudyShares

# Who opens the district dashboard, and whose dashboard covers only their own school.
DISTRICT_DASHBOARD_ROLES = (Role.PRINCIPAL, Role.DISTRICT_LEADER, Role.DISTRICT_STAFF)
ONE_SCHOOL_DASHBOARD_ROLES = (Role.PRINCIPAL,)


@dataclass
class Scope:
    """What the dashboard covers: the whole district, or one school for its principal;
    optionally a date range and a school level."""

    school_id: int | None = None
    level: str = ""
    start: date | None = None
    end: date | None = None

    @classmethod
    def for_reader(cls, reader: User) -> Scope:
        """A principal's dashboard covers their own school; the district office sees the district."""
        return cls(school_id=reader.school_id if reader.role in ONE_SCHOOL_DASHBOARD_ROLES else None)

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        zone = timezone.get_current_timezone()
        start = datetime.combine(self.start, time.min, zone) if self.start else None
        end = datetime.combine(self.end + timedelta(days=1), time.min, zone) if self.end else None
        return start, end

    def in_range(self, field: str) -> Q:
        start, end = self.bounds()
        condition = Q()
        if start:
            condition &= Q(**{f"{field}__gte": start})
        if end:
            condition &= Q(**{f"{field}__lt": end})
        return condition

    def period(self, today: date) -> Period:
        """The days the headline figures compare with the days just before them: the chosen
        dates (an open end runs to today, an open start 90 days back), or the last 90 days."""
        if self.start or self.end:
            end = self.end or today
            start = self.start or end - timedelta(days=PERIOD_DAYS - 1)
            return Period(start, max(start, end), chosen=True)
        return Period(today - timedelta(days=PERIOD_DAYS - 1), today, chosen=False)

    @property
    def level_label(self) -> str:
        return str(SchoolLevel(self.level).label) if self.level else ""

    def file_label(self, school_slug: str = "") -> str:
        """What a download's file name adds to say its filter: "-2026-01-01_to_2026-06-30-middle"."""
        parts = [school_slug] if school_slug else []
        if self.start or self.end:
            start, end = (day.isoformat() if day else "" for day in (self.start, self.end))
            parts.append(f"{start}_to_{end}" if start and end else f"from_{start}" if start else f"to_{end}")
        if self.level:
            parts.append(self.level)
        return "".join(f"-{part}" for part in parts)

    def shared_practices(self) -> QuerySet[Practice]:
        """The practices every reader of this scope may open. The figures are kept once per
        scope and read by all of them (portal.lib.figures), so a practice the dashboard names
        must be open to each: shared with the whole district, or with the one school."""
        return Practice.objects.visible_to_all_at(self.school_id)

    def covers(self, school: School) -> bool:
        """Whether the school is one of `schools()`."""
        return (self.school_id is None or school.pk == self.school_id) and (
            not self.level or school.level == self.level
        )

    def schools(self) -> QuerySet[School]:
        schools = School.objects.all()
        if self.school_id is not None:
            schools = schools.filter(pk=self.school_id)
        if self.level:
            schools = schools.filter(level=self.level)
        return schools


PERIOD_DAYS = 90


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    chosen: bool  # the reader chose the dates; otherwise the last PERIOD_DAYS days

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous_start(self) -> date:
        return self.start - timedelta(days=self.days)

    @property
    def label(self) -> str:
        return "in the period" if self.chosen else f"in the last {self.days} days"

    @property
    def previous_label(self) -> str:
        return f"the {self.days} day{'s' if self.days != 1 else ''} before"

    @property
    def comparison(self) -> str:
        return f"Under each headline figure: the figure {self.label}, beside {self.previous_label}."

    def moments(self) -> tuple[datetime, datetime, datetime]:
        """The start of the days before, the start of the period, the end of the period."""
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.previous_start, time.min, zone),
            datetime.combine(self.start, time.min, zone),
            datetime.combine(self.end + timedelta(days=1), time.min, zone),
        )

    def window(self, field: str) -> Case:
        """Which of the two stretches of days a row falls in ("current" or "previous")."""
        _before, start, _end = self.moments()
        return Case(
            When(**{f"{field}__gte": start}, then=Value(CURRENT)),
            default=Value(PREVIOUS),
            output_field=CharField(),
        )

    def both(self, field: str) -> Q:
        before, _start, end = self.moments()
        return Q(**{f"{field}__gte": before, f"{field}__lt": end})


CURRENT, PREVIOUS = "current", "previous"


@dataclass(frozen=True)
class Change:
    """A headline figure in the period beside the days just before it."""

    period: Period
    current: int | None
    previous: int | None
    percent: bool = False

    def _shown(self, value: int | None) -> str:
        return f"{value}%" if self.percent else str(value)

    @property
    def delta(self) -> int | None:
        return None if self.current is None or self.previous is None else self.current - self.previous

    @property
    def text(self) -> str:
        """ "12 in the last 90 days, ▲ up 4 on the 90 days before (8)"."""
        before = self.period.previous_label
        if self.current is None and self.previous is None:
            return f"nothing published {self.period.label} or {before}"
        if self.current is None:
            return f"nothing published {self.period.label}; {self._shown(self.previous)} {before}"
        now = f"{self._shown(self.current)} {self.period.label}"
        if self.previous is None:
            return f"{now}; nothing published {before}"
        delta = self.current - self.previous
        unit = " points" if self.percent else ""
        if delta == 0:
            return f"{now}, the same as {before}"
        direction = f"▲ up {delta}" if delta > 0 else f"▼ down {-delta}"
        return f"{now}, {direction}{unit} on {before} ({self._shown(self.previous)})"


@dataclass
class SchoolRow:
    school: School
    published: int
    recent: int
    with_failures: int
    with_evolution: int
    adopted_out: int
    adopted_in: int

    @property
    def failures_pct(self) -> int | None:
        return percent(self.with_failures, self.published)

    @property
    def evolution_pct(self) -> int | None:
        return percent(self.with_evolution, self.published)

    @property
    def activity(self) -> int:
        """How busy the school is, for choosing the schools a page shows: what it published,
        and the adoptions of its practices by others and its own of others'."""
        return self.published + self.adopted_out + self.adopted_in

    @property
    def balance(self) -> str:
        if not self.adopted_out and not self.adopted_in:
            return "—"
        if self.adopted_out > self.adopted_in:
            return "mostly shares"
        if self.adopted_in > self.adopted_out:
            return "mostly borrows"
        return "both"


@dataclass
class Flow:
    kind: str
    source: str
    target: str
    count: int
    seats: int = 0
    source_id: int = 0
    target_id: int = 0
    source_slug: str = ""
    target_slug: str = ""
    # Sessions hosted: how many the host checked visitors in at, and the seats of the visitors
    # who attended them (within `seats`, which counts approved seats for the sessions nobody
    # checked in).
    checked_in: int = 0
    attended: int = 0


@dataclass
class DistrictDashboard:
    scope: Scope
    schools: list[SchoolRow]
    totals: dict[str, int | None]
    by_level: list[tuple[str, int, int, int]]
    silent_schools: list[School]
    months: list[dict[str, Any]]
    flows: dict[str, list[Flow]]
    hosting: list[Flow]
    flow_counts: dict[str, int]
    top_adopted: list[Mapping[str, Any]]
    top_adapted: list[Mapping[str, Any]]
    featured: list[Practice]
    say_cycle: Cycle | None
    say: Figures | None
    do_failures_pct: int | None = None
    period: Period | None = None
    changes: dict[str, Change] = field(default_factory=dict)
    exchange: Exchange | None = None
    # How many schools the scope covers (`schools` may hold only the busiest, see SCHOOLS_SHOWN),
    # and how many schools hosted sessions (`hosting` may hold only the busiest).
    schools_in_all: int = 0
    hosts_in_all: int = 0

    @property
    def schools_truncated(self) -> bool:
        return self.schools_in_all > len(self.schools)

    @property
    def hosts_truncated(self) -> bool:
        return self.hosts_in_all > len(self.hosting)

    @property
    def study(self) -> Study:
        """The national study the survey pages compare with; its tension 7 is say-vs-do's reference."""
        return STUDY

    @property
    def study_say(self) -> StudyShares | None:
        return STUDY.for_tension(7)

    @property
    def flow_tables(self) -> list[tuple[str, list[Flow], int]]:
        """Each kind of flow with the rows kept and how many flows there are in all."""
        return [(kind, rows, self.flow_counts[kind]) for kind, rows in self.flows.items()]


def published_practices(scope: Scope, *, in_range: bool = True) -> QuerySet[Practice]:
    practices = Practice.objects.filter(status=Status.PUBLISHED)
    if in_range:
        practices = practices.filter(scope.in_range("published_at"))
    if scope.school_id is not None:
        practices = practices.filter(school_id=scope.school_id)
    if scope.level:
        practices = practices.filter(school__level=scope.level)
    return practices


def _practice_figures(
    scope: Scope, period: Period
) -> tuple[dict[int, Mapping[str, Any]], list[dict[str, Any]], dict[str, Mapping[str, Any]]]:
    """Published practices per school, per month, and in the period and the days before it,
    with how many document failures and evolution: one query (UNION ALL of the groupings).

    Read from the summaries (insights.summaries): whole months from the months' rows, the days
    of a month cut by a date from the days' rows, and only the hours of the one day cut by
    "the last 90 days" from the practices themselves."""
    summaries_ensure()
    recent_since = timezone.now() - timedelta(days=PERIOD_DAYS)
    first, end = scope.start, scope.end + timedelta(days=1) if scope.end else None
    school_key = _summary_key(Cast("school_id", CharField()))
    month_key = _summary_key(Cast("month", CharField()), Cast(TruncMonth("day"), CharField()))
    # The whole district's months and windows from the district's own days and months, and its
    # schools over every day from their totals.
    district = scope.school_id is None and not scope.level
    if district and first is None and end is None:
        schools_arms = [_school_totals_arm(school_key)]
    else:
        schools_arms = _summary_arms(scope, "school", school_key, first, end)
    current_end = period.end + timedelta(days=1)
    arms = [
        *schools_arms,
        *_summary_arms(scope, "month", month_key, first, end, district=district),
        *_summary_arms(
            scope, "window", _summary_key(Value(PREVIOUS)), period.previous_start, period.start, district=district
        ),
        *_summary_arms(scope, "window", _summary_key(Value(CURRENT)), period.start, current_end, district=district),
    ]
    # The last 90 days, within the chosen dates: whole days from the summaries, and the hours of
    # the first day from the practices.
    partial_end = summaries.day_start(summaries.local_day(recent_since) + timedelta(days=1))
    if first is not None and summaries.day_start(first) >= recent_since:
        arms += _summary_arms(scope, "recent", school_key, first, end)
    else:
        upper = min(partial_end, summaries.day_start(end)) if end else partial_end
        arms.append(
            published_practices(scope, in_range=False)
            .filter(published_at__gte=recent_since, published_at__lt=upper)
            .order_by()
            .annotate(arm=Value("recent", output_field=CharField()), key=Cast("school_id", CharField()))
            .values("arm", "key")
            .annotate(**summaries.PRACTICE_COUNTS)
        )
        if end is None or partial_end < summaries.day_start(end):
            arms += _summary_arms(scope, "recent", school_key, partial_end.date(), end)

    # Counts as [published, with failures, with evolution], named once added up.
    school_counts: dict[int, list[int]] = {}
    month_counts: dict[str, list[int]] = {}
    window_counts: dict[str, list[int]] = {}
    recent: dict[int, int] = {}
    # Read as the database gives them, without the ORM's conversion of each value: a large
    # district has a row for each school, twice.
    sql, params = arms[0].union(*arms[1:], all=True).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for arm, key, published, with_failures, with_evolution in rows:
        if not published:
            continue  # an arm grouped by a constant answers one empty row when nothing matched
        if arm == "recent":
            recent[int(key)] = recent.get(int(key), 0) + int(published)
            continue
        if arm == "school":
            counts = school_counts.setdefault(int(key), [0, 0, 0])
        elif arm == "window":
            counts = window_counts.setdefault(key, [0, 0, 0])
        else:
            counts = month_counts.setdefault(key[:10], [0, 0, 0])
        counts[0] += int(published)
        counts[1] += int(with_failures or 0)
        counts[2] += int(with_evolution or 0)

    def named(counts: list[int]) -> dict[str, int]:
        return dict(zip(summaries.COUNT_NAMES, counts, strict=True))

    schools = {
        school_id: {**named(counts), "recent": recent.get(school_id, 0)} for school_id, counts in school_counts.items()
    }
    by_month = {key: named(counts) for key, counts in month_counts.items()}
    windows = {key: named(counts) for key, counts in window_counts.items()}
    months = [
        {
            "month": date.fromisoformat(key),
            "published": counts["published"],
            "failures_pct": percent(counts["with_failures"], counts["published"]),
            "evolution_pct": percent(counts["with_evolution"], counts["published"]),
        }
        for key, counts in by_month.items()
    ]
    return dict(schools), _every_month(months), dict(windows)


DaySummary = type[PracticeDay] | type[DistrictDay]
MonthSummary = type[PracticeMonth] | type[DistrictMonth]
SummaryKey = Callable[[DaySummary | MonthSummary], Combinable]


def _summary_key(for_months: Combinable, for_days: Combinable | None = None) -> SummaryKey:
    """What a summary row is grouped by, for the months' rows and for the days' rows."""
    return lambda model: for_months if model in (PracticeMonth, DistrictMonth) or for_days is None else for_days


def _summary_arms(
    scope: Scope, arm: str, key: SummaryKey, start: date | None, end: date | None, *, district: bool = False
) -> list[QuerySet]:
    """The summary rows of the days from `start` up to (not including) `end` (None: no bound),
    for the scope's school or level, summed per `key`: whole months from the months' rows,
    the days before the first whole month and after the last from the days' rows. With
    `district` (a key that names no school, for the whole district), the district's rows."""
    first_month = None if start is None else start if start.day == 1 else summaries.next_month(start)
    last_month = None if end is None else summaries.month_of(end)
    month_model: MonthSummary = DistrictMonth if district else PracticeMonth
    day_model: DaySummary = DistrictDay if district else PracticeDay
    parts: list[tuple[DaySummary | MonthSummary, Q]] = []
    if first_month is None or last_month is None or first_month < last_month:
        months = Q()
        days: list[Q] = []
        if first_month is not None:
            months &= Q(month__gte=first_month)
            if start is not None and start < first_month:
                days.append(Q(day__gte=start, day__lt=first_month))
        if last_month is not None:
            months &= Q(month__lt=last_month)
            if end is not None and last_month < end:
                days.append(Q(day__gte=last_month, day__lt=end))
        parts.append((month_model, months))
        if days:
            parts.append((day_model, reduce(operator.or_, days)))
    elif start is not None and end is not None and start < end:
        parts.append((day_model, Q(day__gte=start, day__lt=end)))
    arms = []
    for model, condition in parts:
        rows: QuerySet = model.objects.filter(condition)
        if scope.school_id is not None:
            rows = rows.filter(school_id=scope.school_id)
        if scope.level:
            rows = rows.filter(school__level=scope.level)
        arms.append(
            rows.order_by()
            .annotate(arm=Value(arm, output_field=CharField()), key=key(model))
            .values("arm", "key")
            .annotate(**{name: Sum(name) for name in summaries.COUNT_NAMES})
        )
    return arms


def _school_totals_arm(key: SummaryKey) -> QuerySet:
    """Every school's total over every day, as `_summary_arms` gives its rows."""
    return (
        PracticeTotal.objects.order_by()
        .annotate(arm=Value("school", output_field=CharField()), key=key(PracticeMonth))
        .values("arm", "key")
        .annotate(**{name: Sum(name) for name in summaries.COUNT_NAMES})
    )


def _every_month(months: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The months in order, with the months in between that saw nothing published, so a
    chart of them keeps its time scale."""
    by_month = {month["month"]: month for month in months}
    if not by_month:
        return []
    first, last = min(by_month), max(by_month)
    series = []
    current = first
    while current <= last:
        series.append(
            by_month.get(current, {"month": current, "published": 0, "failures_pct": None, "evolution_pct": None})
        )
        current = (current + timedelta(days=32)).replace(day=1)
    return series


def _school_rows(
    scope: Scope, schools: Mapping[int, School], figures: dict[int, Mapping[str, Any]], flows: FlowFigures
) -> list[SchoolRow]:
    """A row for each school of the scope (`schools`: every school, by name), with its figures."""
    out, into = flows.adopted_out, flows.adopted_in
    rows = []
    for school in schools.values():
        if not scope.covers(school):
            continue
        counts = figures.get(school.pk, {})
        rows.append(
            SchoolRow(
                school,
                counts.get("published", 0),
                counts.get("recent", 0),
                counts.get("with_failures", 0),
                counts.get("with_evolution", 0),
                out.get(school.pk, 0),
                into.get(school.pk, 0),
            )
        )
    return rows


Windows = dict[str, dict[str, int]]


@dataclass
class FlowFigures:
    """The flows between schools and the sessions hosted, as the dashboard shows them."""

    flows: dict[str, list[Flow]]  # adoptions, adaptations, visits: busiest first
    flow_counts: dict[str, int]  # how many flows of each kind there are in all
    hosting: list[Flow]  # sessions hosted per school, busiest first
    hosts: int  # how many schools hosted sessions
    windows: Windows  # adoptions and sessions held in the period and the days before it
    adopted_out: dict[int, int]  # adoptions of each school's practices by other schools
    adopted_in: dict[int, int]  # and each school's adoptions of other schools' practices
    totals: dict[str, int]
    exchange: Exchange


def _flows(
    scope: Scope,
    period: Period,
    schools: Mapping[int, School],
    shown: int | None = None,
    *,
    from_totals: bool = True,
    retried: bool = False,
) -> FlowFigures:
    """Adoptions, adaptations and visits from school to school, sessions hosted per school, and
    adoptions between schools and sessions held in the period and the days before it: one query
    (the schools' names from `schools`, every school). With `shown`, only the busiest `shown`
    flows of each kind and hosts are kept as rows; the figures over them all are counted first.

    Read from the flows' summary (insights.summaries), which holds every day, sessions to come
    included: a visit or a session counts once the session has started, so the summary gives
    the days before today, and today's sessions that have started are read from the sessions."""
    summaries_ensure()
    now = timezone.now()
    today = summaries.local_day(now)
    first, end = scope.start, scope.end + timedelta(days=1) if scope.end else None
    started = Q(kind__in=[FlowKind.ADOPTION, FlowKind.ADAPTATION]) | Q(day__lt=today)
    # The whole district over every day, as the page shows it: from the pairs' totals, which hold
    # every day of adoptions and adaptations and the days of visits and sessions before `through`.
    whole = scope.school_id is None and not scope.level and first is None and end is None and shown is not None
    through = summaries.flows_through() if whole and from_totals else None
    if through is not None and through > today:
        through = None  # counted ahead of today's date (a clock set back): not usable

    def kept(condition: Q) -> QuerySet[FlowDay]:
        rows = FlowDay.objects.filter(started, condition)
        if scope.school_id is not None:
            rows = rows.filter(Q(source_id=scope.school_id) | Q(target_id=scope.school_id))
        if scope.level:
            rows = rows.filter(Q(source__level=scope.level) | Q(target__level=scope.level))
        return rows

    def today_started(kind: str, until: datetime | None, since: datetime | None = None) -> QuerySet:
        """Today's rows of this kind whose session has started (within `since` and `until`)."""
        moment, source, target = summaries.FLOW_PATHS[kind]
        lower = max(summaries.day_start(today), since) if since else summaries.day_start(today)
        upper = min(now, until) if until else now
        rows = summaries.flow_rows(kind).filter(**{f"{moment}__gte": lower, f"{moment}__lt": upper})
        for name, value in (("id", scope.school_id), ("level", scope.level)):
            if value:
                condition = Q(**{f"{source}__{name}": value})
                if target:
                    condition |= Q(**{f"{target}__{name}": value})
                rows = rows.filter(condition)
        return rows

    in_range = Q()
    if first is not None:
        in_range &= Q(day__gte=first)
    if end is not None:
        in_range &= Q(day__lt=end)
    windowed = Case(
        When(kind=FlowKind.ADOPTION, day__gte=period.start, then=Value(f"adoptions:{CURRENT}")),
        When(kind=FlowKind.ADOPTION, then=Value(f"adoptions:{PREVIOUS}")),
        When(day__gte=period.start, then=Value(f"held:{CURRENT}")),
        default=Value(f"held:{PREVIOUS}"),
        output_field=CharField(),
    )
    kept_sums = {f"flow_{name}": Sum(name) for name in summaries.FLOW_COUNT_NAMES}
    since_totals = Q(kind__in=[FlowKind.VISIT, FlowKind.HOSTED], day__gte=through) if through else in_range
    arms = [
        _flow_arm(kept(since_totals), F("kind"), kept_sums, "source", "target"),
        _flow_arm(
            kept(Q(kind__in=[FlowKind.ADOPTION, FlowKind.HOSTED], day__gte=period.previous_start, day__lte=period.end)),
            windowed,
            kept_sums,
        ),
    ]
    start_moment, end_moment = scope.bounds()
    for kind in (FlowKind.VISIT, FlowKind.HOSTED):
        if (first is None or first <= today) and (end is None or today < end):
            _moment, source, target = summaries.FLOW_PATHS[kind]
            arms.append(
                _flow_arm(
                    today_started(kind, end_moment, start_moment),
                    Value(f"{kind}:{TODAY}", output_field=CharField()),
                    summaries.flow_counts(kind),
                    source,
                    target,
                )
            )
    if period.previous_start <= today <= period.end:
        held = f"held:{CURRENT if today >= period.start else PREVIOUS}"
        arms.append(
            _flow_arm(
                today_started(FlowKind.HOSTED, summaries.day_start(period.end + timedelta(days=1))),
                Value(held, output_field=CharField()),
                summaries.flow_counts(FlowKind.HOSTED),
            )
        )

    # Read as the database gives them (whole numbers and text), without the ORM's conversion of
    # each value, and kept as plain tuples: a large district has a row for each pair of schools,
    # of which the page shows a few.
    sql, params = arms[0].union(*arms[1:], all=True).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    pairs: dict[str, list[Pair]] = {kind: [] for kind in FlowKind.values}
    started_today: dict[tuple[str, int, int], Pair] = {}
    windows: Windows = {}
    for row in rows:
        label, source_id, target_id, count, seats, _checked_in, attended = row
        if not count:
            continue  # an arm grouped by constants answers one empty row when nothing matched
        of_kind = pairs.get(label)
        if of_kind is not None:
            of_kind.append(row)
            continue
        flow_kind, _, part = label.partition(":")
        if part == TODAY:
            started_today[(flow_kind, source_id, target_id)] = (flow_kind, *row[1:])
        else:
            window = windows.setdefault(label, {"count": 0, "seats": 0})
            window["count"] += count
            window["seats"] += seats + attended
    if started_today:
        # The same pair from the summary and from today's sessions counts once.
        for flow_kind in {flow_kind for flow_kind, _source, _target in started_today}:
            pairs[flow_kind] = [
                _pair_sum(row, started_today.pop((flow_kind, row[1], row[2]), None)) for row in pairs[flow_kind]
            ]
        for (flow_kind, _source, _target), row in started_today.items():
            pairs[flow_kind].append(row)
    if through is not None and shown is not None:
        figures = _flows_with_totals(pairs, windows, schools, shown, through)
        if figures is not None:
            return figures
        # The totals were counted again (and their mark moved on) while being read: read again,
        # or, should that happen twice, count from the days.
        return _flows(scope, period, schools, shown, from_totals=not retried, retried=True)

    adoptions = pairs[FlowKind.ADOPTION]
    adopted_out: defaultdict[int, int] = defaultdict(int)
    adopted_in: defaultdict[int, int] = defaultdict(int)
    for _kind, source_id, target_id, count, _seats, _checked_in, _attended in adoptions:
        adopted_out[source_id] += count
        adopted_in[target_id] += count
    hosted = pairs[FlowKind.HOSTED]
    between = ("adoption", "adaptation", "visit")
    return FlowFigures(
        flows={kind: _busiest(kind, pairs[kind], schools, shown) for kind in between},
        flow_counts={kind: len(pairs[kind]) for kind in between},
        hosting=_busiest(FlowKind.HOSTED, hosted, schools, shown),
        hosts=len(hosted),
        windows=windows,
        adopted_out=dict(adopted_out),
        adopted_in=dict(adopted_in),
        totals={
            "sessions": sum(row[3] for row in hosted),
            "seats": sum(row[4] + row[6] for row in hosted),
            "sessions_checked_in": sum(row[5] for row in hosted),
            "seats_attended": sum(row[6] for row in hosted),
            "adoptions": sum(row[3] for row in adoptions),
        },
        exchange=_exchange([pairs[kind] for kind in between], schools),
    )


BETWEEN_SCHOOLS = (FlowKind.ADOPTION, FlowKind.ADAPTATION, FlowKind.VISIT)


def _flows_with_totals(
    added: dict[str, list[Pair]], windows: Windows, schools: Mapping[int, School], shown: int, through: date
) -> FlowFigures | None:
    """The district's flows over every day, as `_flows` counts them: the schools' and the pairs'
    totals (insights.summaries) with the rows `added` since they were counted. Of the pairs, only
    those the page may show are read: the busiest of each kind (every pair as busy as the
    shown-th, as what is added only makes a pair busier), those with rows added, and those
    between the most active schools (the exchange). Every row read from the totals carries
    their mark: None when it is no longer `through`, the one `added` was read from (the nightly
    rebuild moved it on in between), as the days since would then be counted twice."""
    mark = Subquery(FlowMark.objects.values("through")[:1])
    pair_counts = dict.fromkeys(FlowKind.values, 0)
    sums = {kind: [0, 0, 0, 0] for kind in FlowKind.values}  # count, seats, checked in, attended
    adopted_out: dict[int, int] = {}
    adopted_in: dict[int, int] = {}
    activity: defaultdict[int, int] = defaultdict(int)
    # Read as plain rows: a row for each school and kind.
    sql, params = (
        FlowSchoolTotal.objects.annotate(mark=mark)
        .values_list("kind", "school_id", *summaries.SCHOOL_OUT_NAMES, "count_in", "mark")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        school_rows = cursor.fetchall()
    if any(str(row[-1]) != str(through) for row in school_rows):  # SQLite's plain rows: text
        return None
    for kind, school_id, pairs_out, count_out, seats_out, checked_in_out, attended_out, count_in, _ in school_rows:
        pair_counts[kind] += pairs_out
        kind_sums = sums[kind]
        kind_sums[0] += count_out
        kind_sums[1] += seats_out
        kind_sums[2] += checked_in_out
        kind_sums[3] += attended_out
        if kind == FlowKind.ADOPTION:
            if count_out:
                adopted_out[school_id] = count_out
            if count_in:
                adopted_in[school_id] = count_in
        if kind in BETWEEN_SCHOOLS and count_out + count_in:
            activity[school_id] += count_out + count_in
    for kind in BETWEEN_SCHOOLS:
        for _kind, source_id, target_id, count, *_rest in added[kind]:
            activity[source_id] += count
            activity[target_id] += count
    most_active = _most_active(activity, schools)

    def busiest(kind: str) -> Q:
        least = FlowTotal.objects.filter(kind=kind).order_by("-count").values("count")[shown - 1 : shown]
        return Q(kind=kind, count__gte=Coalesce(Subquery(least), 0))

    wanted = reduce(operator.or_, (busiest(kind) for kind in FlowKind.values))
    wanted |= Q(kind__in=BETWEEN_SCHOOLS, source_id__in=most_active, target_id__in=most_active)
    for kind, rows in added.items():
        # Every pair between these sources and these targets: a few more than those with rows
        # added (each read as it is), in a query put together in a moment.
        if rows and kind == FlowKind.HOSTED:
            wanted |= Q(kind=kind, source_id__in=sorted({row[1] for row in rows}))
        elif rows:
            wanted |= Q(
                kind=kind,
                source_id__in=sorted({row[1] for row in rows}),
                target_id__in=sorted({row[2] for row in rows}),
            )
    read = list(
        FlowTotal.objects.filter(wanted)
        .annotate(mark=mark)
        .values_list("kind", "source_id", Coalesce("target_id", 0), *summaries.FLOW_COUNT_NAMES, "mark")
    )
    if any(str(row[-1]) != str(through) for row in read):
        return None
    base: dict[tuple[str, int, int], Pair] = {(row[0], row[1], row[2]): row[:-1] for row in read}
    merged = dict(base)
    for kind, rows in added.items():
        for row in rows:
            key = (kind, row[1], row[2])
            if key not in base:
                pair_counts[kind] += 1
            merged[key] = _pair_sum(base[key], row) if key in base else row
            sums[kind] = [total + value for total, value in zip(sums[kind], row[3:], strict=True)]
    pairs: dict[str, list[Pair]] = {kind: [] for kind in FlowKind.values}
    for (kind, _source, _target), row in merged.items():
        pairs[kind].append(row)
    hosted = sums[FlowKind.HOSTED]
    return FlowFigures(
        flows={kind: _busiest(kind, pairs[kind], schools, shown) for kind in BETWEEN_SCHOOLS},
        flow_counts={kind: pair_counts[kind] for kind in BETWEEN_SCHOOLS},
        hosting=_busiest(FlowKind.HOSTED, pairs[FlowKind.HOSTED], schools, shown),
        hosts=pair_counts[FlowKind.HOSTED],
        windows=windows,
        adopted_out=adopted_out,
        adopted_in=adopted_in,
        totals={
            "sessions": hosted[0],
            "seats": hosted[1] + hosted[3],
            "sessions_checked_in": hosted[2],
            "seats_attended": hosted[3],
            "adoptions": sums[FlowKind.ADOPTION][0],
        },
        exchange=_exchange_of(activity, [row for kind in BETWEEN_SCHOOLS for row in pairs[kind]], schools, most_active),
    )


# A flow as read: kind, source and target school ids, count, seats (of sessions hosted: where
# nobody was checked in), sessions checked in, seats attended.
Pair = tuple[str, int, int, int, int, int, int]
TODAY = "today"


def _pair_sum(row: Pair, more: Pair | None) -> Pair:
    if more is None:
        return row
    return (row[0], row[1], row[2], row[3] + more[3], row[4] + more[4], row[5] + more[5], row[6] + more[6])


def _busiest(kind: str, rows: list[Pair], schools: Mapping[int, School], limit: int | None) -> list[Flow]:
    """The flows busiest first (then by the schools' names and ids), all or the first `limit`:
    the names are looked up only for the flows as busy as the last one kept."""
    if limit is not None and len(rows) > limit:
        least = heapq.nlargest(limit, [row[3] for row in rows])[-1]
        rows = [row for row in rows if row[3] >= least]

    def name(school_id: int) -> str:
        school = schools.get(school_id)
        return school.name if school else ""

    rows = sorted(rows, key=lambda row: (-row[3], name(row[1]), name(row[2]), row[1], row[2]))
    flows = []
    for _kind, source_id, target_id, count, seats, checked_in, attended in rows[:limit]:
        giver, learner = schools.get(source_id), schools.get(target_id)
        flows.append(
            Flow(
                kind,
                giver.name if giver else "",
                learner.name if learner else "",
                count,
                seats + attended,
                source_id,
                target_id,
                giver.slug if giver else "",
                learner.slug if learner else "",
                checked_in=checked_in,
                attended=attended,
            )
        )
    return flows


def _flow_arm(
    rows: QuerySet, kind: Combinable, counts: Mapping[str, Any], source: str | None = None, target: str | None = None
) -> QuerySet:
    """Rows of (kind, source school, target school, and the counts named flow_<count>), one per
    pair of schools, as plain rows (a large district has a row for each pair of schools);
    `source` and `target` are paths to a school (none: no school, 0)."""
    zero = Value(0, output_field=IntegerField())
    return (
        rows.order_by()
        .annotate(flow_kind=kind)
        .values(
            "flow_kind",
            from_id=Coalesce(f"{source}_id", zero) if source else zero,
            to_id=Coalesce(f"{target}_id", zero) if target else zero,
        )
        .annotate(**counts)
        .values_list("flow_kind", "from_id", "to_id", *(f"flow_{name}" for name in summaries.FLOW_COUNT_NAMES))
    )


def _top_practices(scope: Scope) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The ten most adopted and the ten most adapted practices, among those every reader
    of the scope may open."""
    base = scope.shared_practices().filter(status=Status.PUBLISHED)
    if scope.school_id is not None:
        base = base.filter(school_id=scope.school_id)
    if scope.level:
        base = base.filter(school__level=scope.level)
    adopted = (
        Adoption.objects.filter(scope.in_range("created_at"), practice__in=base)
        .order_by()
        .values(
            kind=Value("adopted", output_field=CharField()),
            practice_pk=Coalesce("practice_id", Value(0)),
            practice_title=Coalesce("practice__title", Value("")),
            school_name=Coalesce("practice__school__name", Value("")),
            school_slug=Coalesce("practice__school__slug", Value("")),
        )
        .annotate(n=Count("pk"))
        .order_by("-n", "practice_pk")[:10]
    )
    # Only adaptations every reader may open are counted, as in the practice list.
    adapted = (
        scope.shared_practices()
        # Saying that an adaptation has an original lets the database start from the few that do
        # (the index on adapted_from) instead of every practice.
        .filter(scope.in_range("published_at"), status=Status.PUBLISHED, adapted_from__isnull=False)
        .filter(adapted_from__in=base)
        .order_by()
        .values(
            kind=Value("adapted", output_field=CharField()),
            practice_pk=Coalesce("adapted_from_id", Value(0)),
            practice_title=Coalesce("adapted_from__title", Value("")),
            school_name=Coalesce("adapted_from__school__name", Value("")),
            school_slug=Coalesce("adapted_from__school__slug", Value("")),
        )
        .annotate(n=Count("pk"))
        .order_by("-n", "practice_pk")[:10]
    )
    # Two queries: SQLite allows no LIMIT inside a UNION.
    return list(adopted), list(adapted)


def build_district_dashboard(
    scope: Scope, *, with_survey: bool = True, flows_shown: int | None = None
) -> DistrictDashboard:
    """The dashboard's figures; without `with_survey`, leave out the survey's say-vs-do figure
    (the board report shows the whole survey instead); with `flows_shown`, only the busiest
    flows of each kind and hosts (the figures over them all are counted as without)."""
    period = scope.period(timezone.localdate())
    every_school = {school.pk: school for school in School.objects.order_by("name")}
    flows = _flows(scope, period, every_school, flows_shown)
    figures, months, windows = _practice_figures(scope, period)
    schools = _school_rows(scope, every_school, figures, flows)
    top_adopted, top_adapted = _top_practices(scope)
    featured_practices = (
        scope.shared_practices()
        .filter(status=Status.PUBLISHED, featured_at__isnull=False, school__in=scope.schools())
        .select_related("school")
        .order_by("-featured_at")[:10]
    )

    published = sum(row.published for row in schools)
    totals = {
        "published": published,
        "recent": sum(row.recent for row in schools),
        "failures_pct": percent(sum(row.with_failures for row in schools), published),
        "evolution_pct": percent(sum(row.with_evolution for row in schools), published),
        **flows.totals,
    }
    levels: dict[str, list[int]] = {}
    for row in schools:
        entry = levels.setdefault(row.school.level, [0, 0, 0])
        entry[0] += 1
        entry[1] += row.published
        entry[2] += row.recent
    by_level = [
        (str(SchoolLevel(level).label), schools_count, published_count, recent_count)
        for level, (schools_count, published_count, recent_count) in sorted(levels.items())
    ]

    say_cycle = latest_cycle() if with_survey else None
    say = None
    if say_cycle is not None:
        # The survey's figures as released (never recounted here), like every survey page.
        tensions = {t.number: t for t in Tension.objects.filter(number=7)}
        if tensions:
            say = released_district(say_cycle, tensions)[1][7]
    return DistrictDashboard(
        scope=scope,
        schools=schools,
        totals=totals,
        by_level=by_level,
        silent_schools=[row.school for row in schools if row.published == 0],
        months=months,
        flows=flows.flows,
        hosting=flows.hosting,
        flow_counts=flows.flow_counts,
        top_adopted=top_adopted,
        top_adapted=top_adapted,
        featured=list(featured_practices),
        say_cycle=say_cycle,
        say=say,
        do_failures_pct=totals["failures_pct"],
        period=period,
        changes=_changes(period, windows, flows.windows),
        exchange=flows.exchange,
        schools_in_all=len(schools),
        hosts_in_all=flows.hosts,
    )


def _changes(period: Period, windows: Mapping[str, Mapping[str, Any]], flows: Windows) -> dict[str, Change]:
    """The headline figures in the period beside the days just before it."""

    def practices(when: str, name: str) -> int:
        return int(windows.get(when, {}).get(name, 0))

    def share(when: str, name: str) -> int | None:
        return percent(practices(when, name), practices(when, "published"))

    def flow(name: str, when: str, part: str = "count") -> int:
        return flows.get(f"{name}:{when}", {}).get(part, 0)

    return {
        "published": Change(period, practices(CURRENT, "published"), practices(PREVIOUS, "published")),
        "failures_pct": Change(period, share(CURRENT, "with_failures"), share(PREVIOUS, "with_failures"), True),
        "evolution_pct": Change(period, share(CURRENT, "with_evolution"), share(PREVIOUS, "with_evolution"), True),
        "adoptions": Change(period, flow("adoptions", CURRENT), flow("adoptions", PREVIOUS)),
        "sessions": Change(period, flow("held", CURRENT), flow("held", PREVIOUS)),
        "seats": Change(period, flow("held", CURRENT, "seats"), flow("held", PREVIOUS, "seats")),
    }


EXCHANGE_SHOWN = 12


@dataclass(frozen=True)
class ExchangeSchool:
    id: int
    name: str
    slug: str


@dataclass(frozen=True)
class Exchange:
    """Who learns from whom: how often each school learned from each other (adopted or adapted
    one of its practices, or visited its showcase), among the schools that exchange most."""

    schools: list[ExchangeSchool]  # the rows (learned from) and the columns (learners), busiest first
    counts: list[list[int]]  # counts[row][column]
    schools_in_all: int  # the schools with any exchange, of which `schools` are shown

    @property
    def rows(self) -> list[tuple[ExchangeSchool, list[tuple[ExchangeSchool, int]]]]:
        return [
            (school, list(zip(self.schools, row, strict=True)))
            for school, row in zip(self.schools, self.counts, strict=True)
        ]

    @property
    def most(self) -> int:
        return max((count for row in self.counts for count in row), default=0)

    @property
    def truncated(self) -> bool:
        return self.schools_in_all > len(self.schools)


def _exchange(kinds: list[list[Pair]], schools: Mapping[int, School], limit: int = EXCHANGE_SHOWN) -> Exchange:
    """Who learned from whom, over the flows of the kinds given: the schools are chosen from
    their sums, and the counts between them added up once chosen."""
    activity: defaultdict[int, int] = defaultdict(int)
    for rows in kinds:
        for _kind, source_id, target_id, count, _seats, _checked_in, _attended in rows:
            # A visit goes from its host (learned from) to the visitor's school (learner).
            activity[source_id] += count
            activity[target_id] += count
    every = [row for rows in kinds for row in rows]
    return _exchange_of(activity, every, schools, _most_active(activity, schools, limit))


def _school_named(schools: Mapping[int, School], school_id: int) -> ExchangeSchool:
    school = schools.get(school_id)
    return ExchangeSchool(school_id, school.name, school.slug) if school else ExchangeSchool(school_id, "", "")


def _most_active(activity: Mapping[int, int], schools: Mapping[int, School], limit: int = EXCHANGE_SHOWN) -> list[int]:
    """The `limit` schools with the most flows in and out, then by name (then which school)."""

    def busiest_first(school_id: int) -> tuple[int, str, int]:
        school = schools.get(school_id)
        return -activity[school_id], school.name if school else "", school_id

    return heapq.nsmallest(limit, activity, key=busiest_first)


def _exchange_of(
    activity: Mapping[int, int], rows: list[Pair], schools: Mapping[int, School], most_active: list[int]
) -> Exchange:
    """The exchange between the most active schools, counted from `rows` (every flow between
    them, at least)."""
    place = {school_id: n for n, school_id in enumerate(most_active)}
    counts = [[0] * len(most_active) for _school in most_active]
    for _kind, source_id, target_id, count, _seats, _checked_in, _attended in rows:
        if source_id in place and target_id in place:
            counts[place[source_id]][place[target_id]] += count
    return Exchange(
        schools=[_school_named(schools, school_id) for school_id in most_active],
        counts=counts,
        schools_in_all=len(activity),
    )


def latest_cycle() -> Cycle | None:
    """The survey cycle the dashboards report on: the latest that has opened."""
    return Cycle.objects.filter(opens_on__lte=timezone.localdate()).order_by("-opens_on", "-pk").first()


def opened_cycles() -> list[Cycle]:
    """The survey cycles that have opened, oldest first: the last is `latest_cycle()`."""
    return list(Cycle.objects.filter(opens_on__lte=timezone.localdate()).order_by("opens_on", "pk"))


def filtered_scope(reader: User, query: QueryDict) -> tuple[Scope, DashboardFilterForm]:
    """The reader's scope with the filter they asked for, when it is valid, and its form."""
    scope = Scope.for_reader(reader)
    form = DashboardFilterForm(query or None, one_school=scope.school_id is not None)
    if form.is_valid():
        scope.level = form.cleaned_data.get("level") or ""
        scope.start = form.cleaned_data["start"]
        scope.end = form.cleaned_data["end"]
    return scope, form


FLOWS_SHOWN = 15
SCHOOLS_SHOWN = 50


def district_dashboard_page(scope: Scope) -> DistrictDashboard:
    """The dashboard as its page shows it: the busiest flows of each kind and the busiest hosts,
    and the most active schools, busiest first (every row is in the downloads), which keeps the
    copy the page reads back, and the page, small in a large district. The figures over every
    school (totals, levels, schools that have shared nothing) are counted before."""
    data = build_district_dashboard(scope, flows_shown=FLOWS_SHOWN)
    data.schools = sorted(data.schools, key=lambda row: (-row.activity, row.school.name))[:SCHOOLS_SHOWN]
    return data


def district_dashboard_recount(
    school_id: int | None, level: str, start: str | None, end: str | None
) -> DistrictDashboard:
    """The page's figures for a scope given as plain values (dates as text), as a worker counts
    them again once the kept copy is old (portal.lib.figures)."""
    return district_dashboard_page(
        Scope(
            school_id=school_id,
            level=level,
            start=date.fromisoformat(start) if start else None,
            end=date.fromisoformat(end) if end else None,
        )
    )


CSV_TABLES = {
    "schools": [
        "school",
        "level",
        "published",
        "published_last_90_days",
        "with_failures_pct",
        "with_evolution_pct",
        "adopted_by_others",
        "adopted_from_others",
        "balance",
    ],
    "months": ["month", "published", "with_failures_pct", "with_evolution_pct"],
    "levels": ["level", "schools", "published", "published_last_90_days"],
    "flows": ["kind", "from_school", "to_school", "count"],
    "hosting": ["host_school", "sessions_held", "seats_filled", "sessions_checked_in", "seats_attended"],
    "top": ["kind", "practice", "school", "count"],
    "featured": ["practice", "school", "featured_on", "note"],
    "say_vs_do": ["measure", "value"],
}


def dashboard_rows(data: DistrictDashboard, table: str) -> list[list[object]]:
    if table == "schools":
        return [
            [
                r.school.name,
                r.school.get_level_display(),
                r.published,
                r.recent,
                r.failures_pct,
                r.evolution_pct,
                r.adopted_out,
                r.adopted_in,
                r.balance,
            ]
            for r in data.schools
        ]
    if table == "months":
        return [
            [m["month"].strftime("%Y-%m"), m["published"], m["failures_pct"], m["evolution_pct"]] for m in data.months
        ]
    if table == "levels":
        return [list(row) for row in data.by_level]
    if table == "flows":
        return [
            [f.kind, f.source, f.target, f.count]
            for kind in ("adoption", "adaptation", "visit")
            for f in data.flows[kind]
        ]
    if table == "hosting":
        return [[f.source, f.count, f.seats, f.checked_in, f.attended] for f in data.hosting]
    if table == "top":
        return [
            [row["kind"], row["practice_title"], row["school_name"], row["n"]]
            for row in [*data.top_adopted, *data.top_adapted]
        ]
    if table == "featured":
        return [
            [p.title, p.school.name, timezone.localtime(p.featured_at).date().isoformat(), p.featured_note]
            for p in data.featured
        ]
    if table == "say_vs_do":
        say = data.say
        rows: list[list[object]] = [["cycle", data.say_cycle.name if data.say_cycle else ""]]
        if say is not None and not say.suppressed:
            rows += [
                [f"survey_{name}", say.value(name)]
                for name in ("n", "median", "lean_left_pct", "balanced_pct", "lean_right_pct")
            ]
        else:
            rows.append(["survey", SUPPRESSED])
        rows.append(["published_with_failures_pct", data.do_failures_pct])
        return rows
    raise KeyError(table)


def dashboard_csv(data: DistrictDashboard, table: str) -> HttpResponse:
    """One table as a download, its file named after its filter
    ("district-schools-2026-01-01_to_2026-06-30-middle.csv")."""
    if table not in CSV_TABLES:
        raise Http404
    school = data.schools[0].school.slug if data.scope.school_id is not None and data.schools else ""
    return csv_response(
        f"district-{table}{data.scope.file_label(school)}.csv", CSV_TABLES[table], dashboard_rows(data, table)
    )
