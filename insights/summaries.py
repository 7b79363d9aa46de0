"""The practice summaries the district dashboard reads (insights.models), and how they are kept.

A change to a practice (published, archived, edited, moved to another day or school, a failure
or an iteration added) enqueues a job with the change (portal.jobs.enqueue_on_commit) that
recounts the days it touched, before and after, for their school, and their months from those
days: a few rows, never the whole district. The feature apps know nothing of this (nothing
below imports insights): the practice's own post_save and post_delete signals, connected in
InsightsConfig.ready, tell this module what changed.

`summaries_rebuild` counts every practice again, for `manage.py rebuild_summaries`, which runs
every night as a safety net (writes that bypass the signals, such as bulk loads) and when the
dashboard finds no summary at all. Days and months are the portal's time zone's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone
from django_tasks import task

from insights.models import PracticeDay, PracticeMonth
from portal.jobs import enqueue_on_commit
from portal.models import School
from practices.models import Practice, Status

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
# asks only once per cache lifetime.
READY_KEY = "insights:summaries:v1:ready"


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
    if update_fields is not None and not COUNTED_FIELDS & set(update_fields):
        return
    summaries_recount_later([before, _bucket(instance.school_id, instance.published_at)])


def practice_after_delete(sender: type[Practice], instance: Practice, **kwargs: Any) -> None:
    summaries_recount_later([_bucket(instance.school_id, instance.published_at)])


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


def _write(model: type[PracticeDay] | type[PracticeMonth], key: dict[str, Any], counts: dict[str, Any]) -> None:
    rows = model.objects.filter(**key)
    if counts["published"]:
        if not rows.update(**counts):
            model.objects.create(**key, **counts)
    else:
        rows.delete()


def summaries_recount(buckets: Iterable[Bucket]) -> None:
    """Recount the given days of the given schools from their practices, then their months."""
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


# -- Counting everything again ----------------------------------------------------------------------


def _insert_from(model: type[PracticeDay] | type[PracticeMonth], key: str, rows: Any) -> None:
    """INSERT … SELECT: the rows are counted and written by the database, never loaded here."""
    columns = ", ".join(connection.ops.quote_name(name) for name in ("school_id", key, *COUNT_NAMES))
    select, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) {select}", params)


def summaries_rebuild() -> int:
    """Count every practice again into the summaries; returns how many days have practices."""
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
        _insert_from(PracticeDay, "day", days)
        months = (
            PracticeDay.objects.order_by()
            .annotate(summary_month=TruncMonth("day"))
            .values("school_id", "summary_month")
            .annotate(**{f"total_{name}": Sum(name) for name in COUNT_NAMES})
            .values_list("school_id", "summary_month", *(f"total_{name}" for name in COUNT_NAMES))
        )
        _insert_from(PracticeMonth, "month", months)
        count = PracticeDay.objects.count()
    cache.set(READY_KEY, True, None)
    return count


def summaries_ensure() -> None:
    """Build the summaries when there are none while there are practices to count (a new
    database, or one loaded in bulk): the dashboard never reads an empty summary by mistake."""
    if cache.get(READY_KEY):
        return
    if not PracticeMonth.objects.exists() and Practice.objects.filter(status=Status.PUBLISHED).exists():
        summaries_rebuild()
    cache.set(READY_KEY, True, None)


def summary_rows(model: type[PracticeDay] | type[PracticeMonth]) -> list[tuple[Any, ...]]:
    """Every row of a summary, in order, to compare one way of keeping it with another."""
    key = "day" if model is PracticeDay else "month"
    return list(model.objects.order_by("school_id", key).values_list("school_id", key, *COUNT_NAMES))
