"""The summaries the district dashboard reads (insights.models), and how they are kept.

A change to a practice (published, archived, edited, moved to another day or school, a failure
or an iteration added) enqueues a job with the change (portal.jobs.enqueue_on_commit) that
recounts the days it touched, before and after, for their school, their months from those
days, and from these the school's total and the district's days and months: a few rows, never
the whole district. The feature apps know nothing of this (nothing
below imports insights): the models' own post_save and post_delete signals, and the showcases'
`session_changed` for the writes to sessions that send none, connected in InsightsConfig.ready,
tell this module what changed.

The flows between schools (FlowDay) are kept the same way, a day of one kind at a time: an
adoption recounts its day's adoptions; a request or a session, its session's day of visits and
sessions hosted (before and after a move); a practice, the days of its adoptions and
adaptations; a showcase that changes host, or a person who changes school, the days of their
sessions and visits. The job works out the days from what changed, so a write adds no query.

The flows are also kept summed per pair of schools (FlowTotal) and per school (FlowSchoolTotal),
over every day of adoptions and adaptations and the days of visits and sessions hosted before a
mark (FlowMark) the nightly rebuild moves to today: a recount of a day sums its pairs again from
their days, and their schools from their pairs. The district's dashboard reads its busiest flows
and its figures over every pair from them, and only the days since the mark from FlowDay.

`summaries_rebuild` counts everything again, for `manage.py rebuild_summaries`, which runs
every night as a safety net (writes that bypass the signals, such as bulk loads) and when the
dashboard finds no summary at all. Days and months are the portal's time zone's.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from functools import reduce
from typing import Any

from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import BigIntegerField, CharField, Count, F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth
from django.utils import timezone
from django_tasks import task

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
from portal.jobs import enqueue_on_commit
from portal.models import School, User
from practices.models import Adoption, Practice, Status, Visibility
from showcases.models import Attendance, RequestStatus, Showcase, VisitRequest, VisitSlot

# What the dashboard counts of published practices, per school and day.
PRACTICE_COUNTS = {
    "published": Count("pk"),
    "with_failures": Count("pk", filter=Q(failure_count__gt=0)),
    "with_evolution": Count("pk", filter=Q(iteration_count__gte=2)),
}
COUNT_NAMES = tuple(PRACTICE_COUNTS)

# A save that writes none of these changes no summary; one that writes a key field may move the
# practice to another day or school, so the day it was on is recounted too.
COUNTED_FIELDS = frozenset({"status", "published_at", "school", "school_id", "iteration_count", "failure_count"})
KEY_FIELDS = frozenset({"published_at", "school", "school_id"})
_BEFORE = "_summary_day_before"

Bucket = tuple[int, date]

# Set once the summaries are known to exist (or to have nothing to hold), so the dashboard
# asks only once per cache lifetime. (v5: the totals per school, pair and month joined them.)
READY_KEY = "insights:summaries:v5:ready"


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the portal's time zone."""
    return datetime.combine(day, time.min, timezone.get_current_timezone())


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def _bucket(school_id: int | None, published_at: datetime | None) -> Bucket | None:
    if school_id is None or published_at is None:
        return None
    return (school_id, local_day(published_at))


# -- Keeping the summaries as practices change -----------------------------------------------------


def practice_before_save(sender: type[Practice], instance: Practice, update_fields: Any = None, **kwargs: Any) -> None:
    """Note the day and school a practice is counted on before a save that may move it."""
    setattr(instance, _BEFORE, None)
    if instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not KEY_FIELDS & set(update_fields):
        return
    before = Practice.objects.filter(pk=instance.pk).values_list("school_id", "published_at").first()
    if before is not None:
        setattr(instance, _BEFORE, _bucket(*before))


def practice_after_save(sender: type[Practice], instance: Practice, update_fields: Any = None, **kwargs: Any) -> None:
    before: Bucket | None = getattr(instance, _BEFORE, None)
    setattr(instance, _BEFORE, None)
    if update_fields is None or FLOW_PRACTICE_FIELDS & set(update_fields):
        # Its adoptions and adaptations count only while it is published, from its school; as an
        # adaptation it counts on its day, which it may have left.
        flows_recount_later(practices=[instance.pk], days=[(FlowKind.ADAPTATION, before[1])] if before else [])
    if update_fields is not None and not COUNTED_FIELDS & set(update_fields):
        return
    summaries_recount_later([before, _bucket(instance.school_id, instance.published_at)])


def practice_after_delete(sender: type[Practice], instance: Practice, **kwargs: Any) -> None:
    summaries_recount_later([_bucket(instance.school_id, instance.published_at)])
    # Its adoptions go with it (each says so); an adaptation's own day loses it.
    if instance.adapted_from_id is not None and instance.published_at is not None:
        flows_recount_later(days=[(FlowKind.ADAPTATION, local_day(instance.published_at))])


def summaries_recount_later(buckets: Iterable[Bucket | None]) -> None:
    """Recount these days of these schools once the change being made is saved."""
    chosen = sorted({bucket for bucket in buckets if bucket is not None})
    if chosen:
        enqueue_on_commit(practice_summaries_recount, [[school_id, day.isoformat()] for school_id, day in chosen])


@task()
def practice_summaries_recount(buckets: list[list[Any]]) -> None:
    """Recount the summaries of some days (pairs of school id and ISO date)."""
    summaries_recount([(int(school_id), date.fromisoformat(str(day))) for school_id, day in buckets])


def _lock_schools(school_ids: Iterable[int] | None = None) -> list[int]:
    """Lock the schools' rows (in one order) while their summaries are counted, so two counts of
    one school, or a count and a rebuild, follow each other and the later one reads what the
    earlier saw. No key is locked: practices are still written meanwhile."""
    schools = School.objects.select_for_update(no_key=True).order_by("pk")
    if school_ids is not None:
        schools = schools.filter(pk__in=list(school_ids))
    return list(schools.values_list("pk", flat=True))


PracticeSummary = (
    type[PracticeDay] | type[PracticeMonth] | type[PracticeTotal] | type[DistrictDay] | type[DistrictMonth]
)

# PostgreSQL advisory lock keys, with a day's or a month's number: held while the district's day
# or month is summed.
_DISTRICT_DAY_LOCK = 7_315_031
_DISTRICT_MONTH_LOCK = 7_315_030


def _write_district(model: type[DistrictDay] | type[DistrictMonth], key: str, when: date, rows: QuerySet[Any]) -> None:
    """Sum the schools' `rows` of a day or month into the district's: other schools' counts of
    it may be written meanwhile, so one sum at a time, each after the one before is saved."""
    if connection.vendor == "postgresql":
        lock = _DISTRICT_DAY_LOCK if model is DistrictDay else _DISTRICT_MONTH_LOCK
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [lock, when.toordinal()])
    _write(model, {key: when}, rows.filter(**{key: when}).aggregate(**{name: Sum(name) for name in COUNT_NAMES}))


def _write(model: PracticeSummary, key: dict[str, Any], counts: dict[str, Any]) -> None:
    rows = model.objects.filter(**key)
    if counts["published"]:
        if not rows.update(**counts):
            model.objects.create(**key, **counts)
    else:
        rows.delete()


def summaries_recount(buckets: Iterable[Bucket]) -> None:
    """Recount the given days of the given schools from their practices, then their months, the
    schools' totals and the district's days and months."""
    wanted = sorted(set(buckets))
    with transaction.atomic():
        present = set(_lock_schools({school_id for school_id, _day in wanted}))
        months: set[Bucket] = set()
        for school_id, day in wanted:
            if school_id not in present:
                continue
            counts = Practice.objects.filter(
                school_id=school_id,
                status=Status.PUBLISHED,
                published_at__gte=day_start(day),
                published_at__lt=day_start(day + timedelta(days=1)),
            ).aggregate(**PRACTICE_COUNTS)
            _write(PracticeDay, {"school_id": school_id, "day": day}, counts)
            months.add((school_id, month_of(day)))
        for school_id, month in sorted(months):
            counts = PracticeDay.objects.filter(
                school_id=school_id, day__gte=month, day__lt=next_month(month)
            ).aggregate(**{name: Sum(name) for name in COUNT_NAMES})
            _write(PracticeMonth, {"school_id": school_id, "month": month}, counts)
        sums = {name: Sum(name) for name in COUNT_NAMES}
        for school_id in sorted({school_id for school_id, _month in months}):
            _write(
                PracticeTotal,
                {"school_id": school_id},
                PracticeMonth.objects.filter(school_id=school_id).aggregate(**sums),
            )
        # The district's days and months, also those of a school deleted meanwhile (its own rows
        # went with it).
        for day in sorted({day for _school_id, day in wanted}):
            _write_district(DistrictDay, "day", day, PracticeDay.objects.all())
        for month in sorted({month_of(day) for _school_id, day in wanted}):
            _write_district(DistrictMonth, "month", month, PracticeMonth.objects.all())


# -- Keeping the flows between schools ---------------------------------------------------------------

# A practice's save that writes one of these may change whether, on which day and from which
# school its adoptions and adaptations count.
FLOW_PRACTICE_FIELDS = frozenset(
    {"status", "visibility", "published_at", "school", "school_id", "adapted_from", "adapted_from_id"}
)
# A session's save that writes none of these changes no flow.
FLOW_SLOT_FIELDS = frozenset(
    {"starts_at", "cancelled_at", "seats_taken", "attendance_taken_at", "seats_attended", "showcase", "showcase_id"}
)
_STARTS_BEFORE = "_flow_starts_before"

# The counts of a flow, as FlowDay stores them.
FLOW_COUNT_NAMES = ("count", "seats", "checked_in", "attended")
# Each kind: the field whose day a row is counted on, and the paths to the schools it goes from
# and to (sessions hosted go to no other school).
FLOW_PATHS: dict[str, tuple[str, str, str | None]] = {
    FlowKind.ADOPTION: ("created_at", "practice__school", "school"),
    FlowKind.ADAPTATION: ("published_at", "adapted_from__school", "school"),
    FlowKind.VISIT: ("slot__starts_at", "slot__showcase__host_school", "requester__school"),
    FlowKind.HOSTED: ("starts_at", "showcase__host_school", None),
}

FlowBucket = tuple[str, date]


def flow_rows(kind: str) -> QuerySet[Any]:
    """Every row the dashboard counts as a flow of this kind, whatever its day (sessions to come
    too; the dashboard counts a session once it has started): adoptions by another school of
    published practices shared with the whole district; published adaptations at another school,
    they and their originals shared with the whole district (a flow names both schools to every
    reader of the dashboard, so an entry some of them may not open is not counted); approved
    visits, not no-shows, by staff of another school to sessions not cancelled; sessions not
    cancelled."""
    if kind == FlowKind.ADOPTION:
        return Adoption.objects.filter(
            practice__status=Status.PUBLISHED, practice__visibility=Visibility.DISTRICT, school_id__isnull=False
        ).exclude(school_id=F("practice__school_id"))
    if kind == FlowKind.ADAPTATION:
        return Practice.objects.filter(
            status=Status.PUBLISHED,
            visibility=Visibility.DISTRICT,
            adapted_from__isnull=False,
            adapted_from__visibility=Visibility.DISTRICT,
        ).exclude(school_id=F("adapted_from__school_id"))
    if kind == FlowKind.VISIT:
        return (
            VisitRequest.objects.filter(
                status=RequestStatus.APPROVED, slot__cancelled_at__isnull=True, requester__school_id__isnull=False
            )
            .exclude(attendance=Attendance.NO_SHOW)
            .exclude(requester__school_id=F("slot__showcase__host_school_id"))
        )
    return VisitSlot.objects.filter(cancelled_at__isnull=True)


def flow_counts(kind: str) -> dict[str, Any]:
    """What a group of rows of this kind counts (named flow_<count name>): rows; seats for visits;
    for sessions hosted, the seats approved at sessions nobody checked visitors in, and the
    sessions checked in with the seats of the visitors who attended them."""
    zero = Value(0, output_field=IntegerField())
    if kind == FlowKind.HOSTED:
        checked = Q(attendance_taken_at__isnull=False)
        return {
            "flow_count": Count("pk"),
            "flow_seats": Coalesce(Sum("seats_taken", filter=~checked), 0, output_field=IntegerField()),
            "flow_checked_in": Count("pk", filter=checked),
            "flow_attended": Coalesce(Sum("seats_attended", filter=checked), 0, output_field=IntegerField()),
        }
    seats = Coalesce(Sum("seats"), 0, output_field=IntegerField()) if kind == FlowKind.VISIT else zero
    return {"flow_count": Count("pk"), "flow_seats": seats, "flow_checked_in": zero, "flow_attended": zero}


def _flow_days(kind: str, rows: QuerySet[Any]) -> QuerySet[Any]:
    """The rows counted per day and pair of schools, as FlowDay's columns."""
    moment, source, target = FLOW_PATHS[kind]
    return (
        rows.order_by()
        .annotate(
            flow_kind=Value(kind, output_field=CharField()),
            flow_day=TruncDate(moment),
            flow_source=F(f"{source}_id"),
            flow_target=F(f"{target}_id") if target else Cast(Value(None), BigIntegerField()),
        )
        .values("flow_kind", "flow_day", "flow_source", "flow_target")
        .annotate(**flow_counts(kind))
        .values_list("flow_kind", "flow_day", "flow_source", "flow_target", *(f"flow_{n}" for n in FLOW_COUNT_NAMES))
    )


def _insert_select(model: type[models.Model], columns: Sequence[str], rows: QuerySet[Any]) -> None:
    """INSERT … SELECT: `rows` (`values_list` in the order of `columns`) are counted and written
    by the database, never loaded here."""
    names = ", ".join(connection.ops.quote_name(name) for name in columns)
    select, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({names}) {select}", params)


def _insert_flows(rows: QuerySet[Any]) -> None:
    _insert_select(FlowDay, ("kind", "day", "source_id", "target_id", *FLOW_COUNT_NAMES), rows)


# PostgreSQL advisory lock keys: every recount holds the first shared (a rebuild holds it alone),
# and the second, with its day, for its kind and day.
_FLOWS_LOCK = 7_315_001
_FLOW_KIND_LOCKS = {kind: 7_315_010 + n for n, kind in enumerate(FlowKind.values)}


def _lock_flows(bucket: FlowBucket | None = None) -> None:
    """Two counts of one kind and day follow each other, and a rebuild follows (or precedes)
    every count, so the later one reads what the earlier wrote. (SQLite writes one at a time.)"""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if bucket is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FLOWS_LOCK])
            return
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_FLOWS_LOCK])
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_FLOW_KIND_LOCKS[bucket[0]], bucket[1].toordinal()])


def flows_recount(buckets: Iterable[FlowBucket]) -> None:
    """Count again the flows of these kinds on these days."""
    for kind, day in sorted(set(buckets)):
        moment = FLOW_PATHS[kind][0]
        rows = flow_rows(kind).filter(
            **{f"{moment}__gte": day_start(day), f"{moment}__lt": day_start(day + timedelta(days=1))}
        )
        with transaction.atomic():
            _lock_flows((kind, day))
            kept = FlowDay.objects.filter(kind=kind, day=day)
            pairs = set(kept.values_list("source_id", "target_id"))
            kept.delete()
            _insert_flows(_flow_days(kind, rows))
            through = flows_through()
            if through is not None and (kind in TOTALED_EVERY_DAY or day < through):
                _retotal(kind, pairs | set(kept.values_list("source_id", "target_id")), through)


# -- Totals per pair and per school (FlowTotal, FlowSchoolTotal) ------------------------------------

# Adoptions and adaptations count on every day; visits and sessions hosted once the session has
# started, so their totals hold the days before FlowMark.through, moved on by the nightly rebuild.
TOTALED_EVERY_DAY = frozenset({FlowKind.ADOPTION, FlowKind.ADAPTATION})
# PostgreSQL advisory lock key: one per kind, held while its totals are written.
_FLOW_TOTALS_LOCKS = {kind: 7_315_020 + n for n, kind in enumerate(FlowKind.values)}

Pairs = set[tuple[int, int | None]]


def flows_through() -> date | None:
    """The day up to which (not included) FlowTotal holds visits and sessions hosted; None
    before the totals are first counted."""
    return FlowMark.objects.values_list("through", flat=True).first()


def _pairs_match(kind: str, pairs: Pairs) -> Q:
    """The rows of these pairs of schools (sessions hosted: of these sources)."""
    if kind == FlowKind.HOSTED:
        return Q(source_id__in=sorted({source for source, _target in pairs}), target__isnull=True)
    targets: defaultdict[int, list[int]] = defaultdict(list)
    for source, target in pairs:
        if target is not None:
            targets[source].append(target)
    return reduce(
        operator.or_,
        (Q(source_id=source, target_id__in=sorted(ids)) for source, ids in sorted(targets.items())),
        Q(pk__in=[]),
    )


def _retotal(kind: str, pairs: Pairs, through: date) -> None:
    """Sum these pairs' days again into FlowTotal, and their schools' pairs into FlowSchoolTotal:
    counted from the days themselves, never adjusted, so a total is right whatever came before."""
    if not pairs:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FLOW_TOTALS_LOCKS[kind]])
    match = _pairs_match(kind, pairs)
    days = FlowDay.objects.filter(match, kind=kind)
    if kind not in TOTALED_EVERY_DAY:
        days = days.filter(day__lt=through)
    sums = (
        days.order_by()
        .values("source_id", "target_id")
        .annotate(**{f"total_{name}": Sum(name) for name in FLOW_COUNT_NAMES})
        .values_list("source_id", "target_id", *(f"total_{name}" for name in FLOW_COUNT_NAMES))
    )
    FlowTotal.objects.filter(match, kind=kind).delete()
    FlowTotal.objects.bulk_create(
        FlowTotal(kind=kind, source_id=source, target_id=target, **dict(zip(FLOW_COUNT_NAMES, counts, strict=True)))
        for source, target, *counts in sums
    )
    _retotal_schools(kind, {school for pair in pairs for school in pair if school is not None})


SCHOOL_OUT_NAMES = ("pairs_out", "count_out", "seats_out", "checked_in_out", "attended_out")


def _school_totals(kind: str, schools: Iterable[int] | None = None) -> list[FlowSchoolTotal]:
    """FlowSchoolTotal's rows of these schools (None: every school), counted from FlowTotal."""
    rows = FlowTotal.objects.filter(kind=kind).order_by()
    if schools is not None:
        schools = sorted(schools)
    out = rows.filter(source_id__in=schools) if schools is not None else rows
    into = rows.filter(target_id__in=schools) if schools is not None else rows.filter(target__isnull=False)
    totals: dict[int, FlowSchoolTotal] = {}
    for school_id, *counts in (
        out.values("source_id")
        .annotate(total_pairs=Count("pk"), **{f"total_{name}": Sum(name) for name in FLOW_COUNT_NAMES})
        .values_list("source_id", "total_pairs", *(f"total_{name}" for name in FLOW_COUNT_NAMES))
    ):
        totals[school_id] = FlowSchoolTotal(
            kind=kind, school_id=school_id, **dict(zip(SCHOOL_OUT_NAMES, counts, strict=True))
        )
    for school_id, count in into.values("target_id").annotate(total=Sum("count")).values_list("target_id", "total"):
        totals.setdefault(school_id, FlowSchoolTotal(kind=kind, school_id=school_id)).count_in = count
    return list(totals.values())


def _retotal_schools(kind: str, schools: set[int]) -> None:
    FlowSchoolTotal.objects.filter(kind=kind, school_id__in=sorted(schools)).delete()
    FlowSchoolTotal.objects.bulk_create(_school_totals(kind, schools))


def school_after_delete(sender: type[School], instance: School, **kwargs: Any) -> None:
    """A school deleted takes its flows' days and totals with it (the cascade), before any
    recount could see them: the other schools' totals are counted again once it is gone."""
    enqueue_on_commit(flow_school_totals_recount)


@task()
def flow_school_totals_recount() -> None:
    """Count every school's flows' totals again from the pairs' totals."""
    with transaction.atomic():
        _lock_flows()
        for kind in FlowKind.values:
            FlowSchoolTotal.objects.filter(kind=kind).delete()
            FlowSchoolTotal.objects.bulk_create(_school_totals(kind), batch_size=2_000)


def flow_totals_rebuild(through: date) -> None:
    """Sum every pair's days again into FlowTotal (visits and sessions hosted: the days before
    `through`) and every school's into FlowSchoolTotal. Within the flows' own rebuild or lock."""
    _lock_flows()
    FlowSchoolTotal.objects.all().delete()
    FlowTotal.objects.all().delete()
    FlowMark.objects.all().delete()
    rows = (
        FlowDay.objects.filter(Q(kind__in=TOTALED_EVERY_DAY) | Q(day__lt=through))
        .order_by()
        .values("kind", "source_id", "target_id")
        .annotate(**{f"total_{name}": Sum(name) for name in FLOW_COUNT_NAMES})
        .values_list("kind", "source_id", "target_id", *(f"total_{name}" for name in FLOW_COUNT_NAMES))
    )
    _insert_select(FlowTotal, ("kind", "source_id", "target_id", *FLOW_COUNT_NAMES), rows)
    for kind in FlowKind.values:
        FlowSchoolTotal.objects.bulk_create(_school_totals(kind), batch_size=2_000)
    FlowMark.objects.create(through=through)


def flow_total_rows() -> list[tuple[Any, ...]]:
    """Every row of the flows' totals (per pair, then per school), in order, to compare one way
    of keeping them with another."""
    return [
        *FlowTotal.objects.order_by("kind", "source_id", "target_id").values_list(
            "kind", "source_id", "target_id", *FLOW_COUNT_NAMES
        ),
        *FlowSchoolTotal.objects.order_by("kind", "school_id").values_list(
            "kind", "school_id", *SCHOOL_OUT_NAMES, "count_in"
        ),
    ]


def _session_days(starts: Iterable[datetime | None]) -> set[FlowBucket]:
    days = {local_day(moment) for moment in starts if moment is not None}
    return {(kind, day) for day in days for kind in (FlowKind.VISIT, FlowKind.HOSTED)}


@task()
def flow_summaries_recount(
    days: list[list[str]],
    slots: list[int] | None = None,
    showcases: list[int] | None = None,
    practices: list[int] | None = None,
    users: list[int] | None = None,
) -> None:
    """Count again the flows of some days (pairs of kind and ISO date), and of the days these
    sessions, showcases' sessions, practices' adoptions and adaptations, and people's visits
    are on now."""
    buckets: set[FlowBucket] = {(kind, date.fromisoformat(day)) for kind, day in days}
    for sessions in (
        Q(pk__in=slots) if slots else None,
        Q(showcase_id__in=showcases) if showcases else None,
        Q(requests__requester_id__in=users) if users else None,
    ):
        if sessions is not None:
            buckets |= _session_days(VisitSlot.objects.filter(sessions).values_list("starts_at", flat=True).distinct())
    if practices:
        adopted = Adoption.objects.filter(practice_id__in=practices).values_list("created_at", flat=True)
        adapted = Practice.objects.filter(
            Q(adapted_from_id__in=practices) | Q(pk__in=practices, adapted_from__isnull=False),
            published_at__isnull=False,
        ).values_list("published_at", flat=True)
        buckets |= {(FlowKind.ADOPTION, local_day(moment)) for moment in adopted}
        buckets |= {(FlowKind.ADAPTATION, local_day(moment)) for moment in adapted if moment is not None}
    flows_recount(buckets)


def flows_recount_later(
    *,
    days: Iterable[tuple[str, date | None]] = (),
    slots: Iterable[int | None] = (),
    showcases: Iterable[int | None] = (),
    practices: Iterable[int | None] = (),
    users: Iterable[int | None] = (),
) -> None:
    """Recount these days' flows, and those of what these rows touch, once the change is saved."""
    chosen = [[kind, day.isoformat()] for kind, day in sorted({(k, d) for k, d in days if d is not None})]
    keys = [sorted({pk for pk in ids if pk is not None}) for ids in (slots, showcases, practices, users)]
    if chosen or any(keys):
        enqueue_on_commit(flow_summaries_recount, chosen, *keys)


def adoption_after_write(sender: type[Adoption], instance: Adoption, **kwargs: Any) -> None:
    flows_recount_later(days=[(FlowKind.ADOPTION, local_day(instance.created_at))])


def visit_after_write(sender: type[VisitRequest], instance: VisitRequest, **kwargs: Any) -> None:
    flows_recount_later(slots=[instance.slot_id])


def slot_before_save(sender: type[VisitSlot], instance: VisitSlot, update_fields: Any = None, **kwargs: Any) -> None:
    """Note when a session started before a save that may move it."""
    setattr(instance, _STARTS_BEFORE, None)
    if instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and "starts_at" not in update_fields:
        return
    setattr(
        instance, _STARTS_BEFORE, VisitSlot.objects.filter(pk=instance.pk).values_list("starts_at", flat=True).first()
    )


def slot_after_save(sender: type[VisitSlot], instance: VisitSlot, update_fields: Any = None, **kwargs: Any) -> None:
    before: datetime | None = getattr(instance, _STARTS_BEFORE, None)
    setattr(instance, _STARTS_BEFORE, None)
    if update_fields is not None and not FLOW_SLOT_FIELDS & set(update_fields):
        return
    flows_recount_later(days=_session_days([before, instance.starts_at]))


def slot_after_delete(sender: type[VisitSlot], instance: VisitSlot, **kwargs: Any) -> None:
    flows_recount_later(days=_session_days([instance.starts_at]))


def session_after_change(
    sender: type[VisitSlot], slot: VisitSlot, starts_before: datetime | None, **kwargs: Any
) -> None:
    """A session written with update() (showcases.signals.session_changed)."""
    flows_recount_later(days=_session_days([starts_before, slot.starts_at]))


def showcase_after_save(
    sender: type[Showcase], instance: Showcase, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """A showcase moved to another host school takes its sessions and visits with it."""
    if not created and (update_fields is None or {"host_school", "host_school_id"} & set(update_fields)):
        flows_recount_later(showcases=[instance.pk])


def person_after_save(
    sender: type[User], instance: User, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """A visitor counts for the school they are at now: a change of school moves their visits."""
    if not created and (update_fields is None or {"school", "school_id"} & set(update_fields)):
        flows_recount_later(users=[instance.pk])


def people_after_move(sender: type[User], people: list[int], **kwargs: Any) -> None:
    """People moved to other schools by a bulk write (portal.signals.people_moved)."""
    flows_recount_later(users=people)


# -- Counting everything again ----------------------------------------------------------------------


def _insert_from(model: PracticeSummary, keys: tuple[str, ...], rows: Any) -> None:
    _insert_select(model, (*keys, *COUNT_NAMES), rows)


def summaries_rebuild() -> int:
    """Count every practice, adoption, adaptation and session again into the summaries;
    returns how many days have practices."""
    with transaction.atomic():
        _lock_flows()
        FlowDay.objects.all().delete()
        for kind in FlowKind.values:
            _insert_flows(_flow_days(kind, flow_rows(kind)))
        flow_totals_rebuild(local_day(timezone.now()))
    with transaction.atomic():
        _lock_schools()
        PracticeMonth.objects.all().delete()
        PracticeDay.objects.all().delete()
        days = (
            Practice.objects.filter(status=Status.PUBLISHED, published_at__isnull=False)
            .order_by()
            .annotate(summary_day=TruncDate("published_at"))
            .values("school_id", "summary_day")
            .annotate(**PRACTICE_COUNTS)
            .values_list("school_id", "summary_day", *COUNT_NAMES)
        )
        _insert_from(PracticeDay, ("school_id", "day"), days)
        months = (
            PracticeDay.objects.order_by()
            .annotate(summary_month=TruncMonth("day"))
            .values("school_id", "summary_month")
            .annotate(**{f"total_{name}": Sum(name) for name in COUNT_NAMES})
            .values_list("school_id", "summary_month", *(f"total_{name}" for name in COUNT_NAMES))
        )
        _insert_from(PracticeMonth, ("school_id", "month"), months)
        _practice_totals_rebuild()
        count = PracticeDay.objects.count()
    cache.set(READY_KEY, True, None)
    return count


def _practice_totals_rebuild() -> None:
    """Sum every school's months again into PracticeTotal, and every day's and month's schools
    into DistrictDay and DistrictMonth. With the schools locked (`_lock_schools`)."""
    PracticeTotal.objects.all().delete()
    DistrictDay.objects.all().delete()
    DistrictMonth.objects.all().delete()
    summed: tuple[tuple[PracticeSummary, type[PracticeDay] | type[PracticeMonth], str], ...] = (
        (PracticeTotal, PracticeMonth, "school_id"),
        (DistrictDay, PracticeDay, "day"),
        (DistrictMonth, PracticeMonth, "month"),
    )
    for model, source, key in summed:
        rows = (
            source.objects.order_by()
            .values(key)
            .annotate(**{f"total_{name}": Sum(name) for name in COUNT_NAMES})
            .values_list(key, *(f"total_{name}" for name in COUNT_NAMES))
        )
        _insert_from(model, (key,), rows)


def summaries_ensure() -> None:
    """Build the summaries when there are none while there is something to count (a new
    database, or one loaded in bulk): the dashboard never reads an empty summary by mistake.
    What counts as something is what the dashboard would count (a cancelled session is not). A
    missing mark of the flows' totals is left to the nightly rebuild: the dashboard counts from
    the days meanwhile."""
    if cache.get(READY_KEY):
        return
    ready = True
    if (not PracticeMonth.objects.exists() and Practice.objects.filter(status=Status.PUBLISHED).exists()) or (
        not FlowDay.objects.exists() and any(flow_rows(kind).exists() for kind in FlowKind.values)
    ):
        summaries_rebuild()
    else:
        if not FlowMark.objects.exists():
            # Totals not counted (or their mark deleted): the dashboard counts from the days until
            # the nightly rebuild counts them, and looks again next time.
            ready = False
        if PracticeMonth.objects.exists() and not PracticeTotal.objects.exists():
            with transaction.atomic():
                _lock_schools()
                _practice_totals_rebuild()
    if ready:
        cache.set(READY_KEY, True, None)


def summary_rows(model: PracticeSummary) -> list[tuple[Any, ...]]:
    """Every row of a summary, in order, to compare one way of keeping it with another."""
    keys: dict[PracticeSummary, tuple[str, ...]] = {
        PracticeDay: ("school_id", "day"),
        PracticeMonth: ("school_id", "month"),
        PracticeTotal: ("school_id",),
        DistrictDay: ("day",),
        DistrictMonth: ("month",),
    }
    key = keys[model]
    return list(model.objects.order_by(*key).values_list(*key, *COUNT_NAMES))


def flow_summary_rows() -> list[tuple[Any, ...]]:
    """Every row of the flows' summary, in order, to compare one way of keeping it with another."""
    return list(
        FlowDay.objects.order_by("kind", "day", "source_id", "target_id").values_list(
            "kind", "day", "source_id", "target_id", *FLOW_COUNT_NAMES
        )
    )
