"""The district dashboard: is the district learning from itself?

Everything is counted by the database in a fixed number of queries: one for the
schools' sharing figures, one for openness over time, one UNION ALL for every flow
between schools (adoptions, adaptations, visits, sessions hosted), one for the most
adopted and adapted practices, one for featured practices, and the survey's tension 7.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    CharField,
    Count,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.http import Http404, HttpResponse
from django.utils import timezone

from portal.lib.csvfile import csv_response
from portal.models import Role, School, SchoolLevel, User
from practices.models import Adoption, Practice, Status
from showcases.models import Attendance, RequestStatus, VisitRequest, VisitSlot
from surveys.dashboard import released_district
from surveys.models import Cycle, Tension
from surveys.stats import SUPPRESSED, Figures, percent

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

    def shared_practices(self) -> QuerySet[Practice]:
        """The practices every reader of this scope may open. The figures are kept once per
        scope and read by all of them (portal.lib.figures), so a practice the dashboard names
        must be open to each: shared with the whole district, or with the one school."""
        return Practice.objects.visible_to_all_at(self.school_id)

    def schools(self) -> QuerySet[School]:
        schools = School.objects.all()
        if self.school_id is not None:
            schools = schools.filter(pk=self.school_id)
        if self.level:
            schools = schools.filter(level=self.level)
        return schools


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

    @property
    def flow_tables(self) -> list[tuple[str, list[Flow], int]]:
        """Each kind of flow with the rows kept and how many flows there are in all."""
        return [(kind, rows, self.flow_counts[kind]) for kind, rows in self.flows.items()]


def published_practices(scope: Scope) -> QuerySet[Practice]:
    practices = Practice.objects.filter(status=Status.PUBLISHED).filter(scope.in_range("published_at"))
    if scope.school_id is not None:
        practices = practices.filter(school_id=scope.school_id)
    if scope.level:
        practices = practices.filter(school__level=scope.level)
    return practices


def _practice_figures(scope: Scope) -> tuple[dict[int, Mapping[str, Any]], list[dict[str, Any]]]:
    """Published practices per school and per month, with how many document failures and
    evolution: one query (UNION ALL of the two groupings)."""
    recent_since = timezone.now() - timedelta(days=90)
    counts = {
        "published": Count("pk"),
        "recent": Count("pk", filter=Q(published_at__gte=recent_since)),
        "with_failures": Count("pk", filter=Q(failure_count__gt=0)),
        "with_evolution": Count("pk", filter=Q(iteration_count__gte=2)),
    }
    base = published_practices(scope).order_by()
    by_school = (
        base.annotate(arm=Value("school", output_field=CharField()), key=Cast("school_id", CharField()))
        .values("arm", "key")
        .annotate(**counts)
    )
    by_month = (
        base.annotate(arm=Value("month", output_field=CharField()), key=Cast(TruncMonth("published_at"), CharField()))
        .values("arm", "key")
        .annotate(**counts)
    )
    schools: dict[int, Mapping[str, Any]] = {}
    months: list[dict[str, Any]] = []
    rows: Iterable[Mapping[str, Any]] = by_school.union(by_month, all=True)
    for row in rows:
        if row["arm"] == "school":
            schools[int(row["key"])] = row
        else:
            months.append(
                {
                    "month": date.fromisoformat(row["key"][:10]),
                    "published": row["published"],
                    "failures_pct": percent(row["with_failures"], row["published"]),
                    "evolution_pct": percent(row["with_evolution"], row["published"]),
                }
            )
    return schools, _every_month(months)


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


def _school_rows(scope: Scope, figures: dict[int, Mapping[str, Any]], adoptions: list[Flow]) -> list[SchoolRow]:
    out: dict[int, int] = {}
    into: dict[int, int] = {}
    for flow in adoptions:
        out[flow.source_id] = out.get(flow.source_id, 0) + flow.count
        into[flow.target_id] = into.get(flow.target_id, 0) + flow.count
    rows = []
    for school in scope.schools().order_by("name"):
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


def _flows(scope: Scope) -> tuple[dict[str, list[Flow]], list[Flow]]:
    """Adoptions, adaptations and visits from school to school, and sessions hosted per school: one query."""

    def arm(
        queryset: QuerySet,
        kind: str,
        source: str,
        target: str | None,
        seats: str | None = None,
        *,
        checked: Q | None = None,
    ) -> QuerySet:
        """Rows of (kind, source school, target school, count, seats, checked, attended);
        `source`/`target` are paths to a school. With `checked` (sessions), `seats` counts the
        rows not checked in, `checked` the rows checked in and `attended` their seats attended."""
        empty = Value("", output_field=CharField())
        zero = Value(0, output_field=IntegerField())
        return (
            queryset.order_by()
            .annotate(kind=Value(kind, output_field=CharField()))
            .values(
                "kind",
                source_id=Coalesce(f"{source}_id", Value(0)),
                source_name=Coalesce(f"{source}__name", empty),
                target_id=Coalesce(f"{target}_id", Value(0)) if target else Value(0, output_field=IntegerField()),
                target_name=Coalesce(f"{target}__name", empty) if target else empty,
            )
            .annotate(
                n=Count("pk"),
                seats=Coalesce(Sum(seats, filter=~checked if checked else None), 0) if seats else zero,
                checked=Count("pk", filter=checked) if checked else zero,
                attended=Coalesce(Sum("seats_attended", filter=checked), 0) if checked else zero,
            )
        )

    adoptions = Adoption.objects.filter(
        scope.in_range("created_at"), practice__status=Status.PUBLISHED, school_id__isnull=False
    )
    adaptations = Practice.objects.filter(
        scope.in_range("published_at"), status=Status.PUBLISHED, adapted_from__isnull=False
    )
    now = timezone.now()
    visits = VisitRequest.objects.filter(
        scope.in_range("slot__starts_at"),
        status=RequestStatus.APPROVED,
        slot__starts_at__lt=now,
        slot__cancelled_at__isnull=True,
        requester__school_id__isnull=False,
    ).exclude(attendance=Attendance.NO_SHOW)
    held = VisitSlot.objects.filter(scope.in_range("starts_at"), starts_at__lt=now, cancelled_at__isnull=True)
    if scope.school_id is not None:
        sid = scope.school_id
        adoptions = adoptions.filter(Q(school_id=sid) | Q(practice__school_id=sid))
        adaptations = adaptations.filter(Q(school_id=sid) | Q(adapted_from__school_id=sid))
        visits = visits.filter(Q(requester__school_id=sid) | Q(slot__showcase__host_school_id=sid))
        held = held.filter(showcase__host_school_id=sid)
    if scope.level:
        adoptions = adoptions.filter(Q(school__level=scope.level) | Q(practice__school__level=scope.level))
        adaptations = adaptations.filter(Q(school__level=scope.level) | Q(adapted_from__school__level=scope.level))
        visits = visits.filter(
            Q(requester__school__level=scope.level) | Q(slot__showcase__host_school__level=scope.level)
        )
        held = held.filter(showcase__host_school__level=scope.level)
    queries = [
        arm(adoptions, "adoption", "practice__school", "school"),
        arm(adaptations, "adaptation", "adapted_from__school", "school"),
        arm(visits, "visit", "slot__showcase__host_school", "requester__school", seats="seats"),
        # Seats filled: visitors who attended where the host checked them in, approved seats elsewhere.
        arm(
            held,
            "hosted",
            "showcase__host_school",
            None,
            seats="seats_taken",
            checked=Q(attendance_taken_at__isnull=False),
        ),
    ]
    flows: dict[str, list[Flow]] = {"adoption": [], "adaptation": [], "visit": []}
    hosting: list[Flow] = []
    for row in queries[0].union(*queries[1:], all=True):
        flow = Flow(
            row["kind"],
            row["source_name"],
            row["target_name"],
            row["n"],
            row["seats"] + row["attended"],
            row["source_id"],
            row["target_id"],
            checked_in=row["checked"],
            attended=row["attended"],
        )
        if row["kind"] == "hosted":
            hosting.append(flow)
        elif row["source_id"] != row["target_id"]:
            flows[row["kind"]].append(flow)
    for rows in [*flows.values(), hosting]:
        rows.sort(key=lambda f: (-f.count, f.source, f.target))
    return flows, hosting


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
        )
        .annotate(n=Count("pk"))
        .order_by("-n", "practice_pk")[:10]
    )
    # Only adaptations every reader may open are counted, as in the practice list.
    adapted = (
        scope.shared_practices()
        .filter(scope.in_range("published_at"), status=Status.PUBLISHED, adapted_from__in=base)
        .order_by()
        .values(
            kind=Value("adapted", output_field=CharField()),
            practice_pk=Coalesce("adapted_from_id", Value(0)),
            practice_title=Coalesce("adapted_from__title", Value("")),
            school_name=Coalesce("adapted_from__school__name", Value("")),
        )
        .annotate(n=Count("pk"))
        .order_by("-n", "practice_pk")[:10]
    )
    # Two queries: SQLite allows no LIMIT inside a UNION.
    return list(adopted), list(adapted)


def build_district_dashboard(scope: Scope) -> DistrictDashboard:
    flows, hosting = _flows(scope)
    figures, months = _practice_figures(scope)
    schools = _school_rows(scope, figures, flows["adoption"])
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
        "sessions": sum(flow.count for flow in hosting),
        "seats": sum(flow.seats for flow in hosting),
        "sessions_checked_in": sum(flow.checked_in for flow in hosting),
        "seats_attended": sum(flow.attended for flow in hosting),
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

    say_cycle = Cycle.objects.filter(opens_on__lte=timezone.localdate()).order_by("-opens_on").first()
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
        flows=flows,
        hosting=hosting,
        flow_counts={kind: len(rows) for kind, rows in flows.items()},
        top_adopted=top_adopted,
        top_adapted=top_adapted,
        featured=list(featured_practices),
        say_cycle=say_cycle,
        say=say,
        do_failures_pct=totals["failures_pct"],
    )


FLOWS_SHOWN = 15


def district_dashboard_page(scope: Scope) -> DistrictDashboard:
    """The dashboard as its page shows it: the busiest flows of each kind (every flow is in
    the download), which keeps the copy the page reads back small in a large district."""
    data = build_district_dashboard(scope)
    data.flows = {kind: rows[:FLOWS_SHOWN] for kind, rows in data.flows.items()}
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
    if table not in CSV_TABLES:
        raise Http404
    return csv_response(f"district-{table}.csv", CSV_TABLES[table], dashboard_rows(data, table))
