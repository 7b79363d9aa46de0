"""The district dashboard reads practice summaries that follow every write: what people do
shows in its figures at once, a rebuild gives the very rows the writes kept, the figures equal a
count of the practices themselves for any dates, and the count never grows with the data."""

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.district import PERIOD_DAYS, Scope, _practice_figures, build_district_dashboard
from insights.models import DistrictDay, DistrictMonth, PracticeDay, PracticeMonth, PracticeTotal
from insights.summaries import local_day, summaries_rebuild, summary_rows
from portal.lib.figures import figures_changed
from practices.models import Practice, Status, Visibility
from practices.services import practice_archive, practice_unarchive
from showcases.models import Attendance, RequestStatus, VisitRequest
from showcases.services import slot_attendance_record, visit_request_approve
from tests.factories import FailureFactory, IterationFactory, PracticeFactory, VisitSlotFactory
from tests.practices.helpers import TWO_FAILURES, practice_post

pytestmark = pytest.mark.django_db


def _figures(**scope):
    return build_district_dashboard(Scope(**scope), with_survey=False)


def _school(data, slug):
    return next(row for row in data.schools if row.school.slug == slug)


def test_publishing_a_practice_counts_it_at_once(as_user, teacher, leader, school, django_capture_on_commit_callbacks):
    assert _figures().totals["published"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(teacher).post("/practices/new/", practice_post(failures=TWO_FAILURES))
    assert response.status_code == 302
    data = _figures()
    maple = _school(data, "maple-grove")
    assert (maple.published, maple.recent, maple.with_failures) == (1, 1, 1)
    assert (data.totals["published"], data.totals["failures_pct"]) == (1, 100)
    assert [(m["month"], m["published"]) for m in data.months] == [(timezone.localdate().replace(day=1), 1)]
    assert data.changes["published"].current == 1
    # The page shows it once its kept copy is retired, as every recount does.
    figures_changed("district")
    assert as_user(leader).get("/dashboard/").context["d"].totals["published"] == 1


def test_a_draft_counts_nothing_until_published_and_not_once_back_to_draft(
    as_user, teacher, django_capture_on_commit_callbacks
):
    client = as_user(teacher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/practices/new/", practice_post(action="draft"))
    practice = Practice.objects.get()
    assert practice.status == Status.DRAFT and _figures().totals["published"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/practices/{practice.pk}/edit/", practice_post())
    assert _figures().totals["published"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/practices/{practice.pk}/edit/", practice_post(action="draft"))
    assert _figures().totals["published"] == 0
    assert not PracticeDay.objects.exists() and not PracticeMonth.objects.exists()


def test_archiving_takes_a_practice_out_and_bringing_it_back_counts_it_again(
    as_user, teacher, staff, django_capture_on_commit_callbacks
):
    practice = PracticeFactory(author=teacher, published_at=timezone.now() - timedelta(days=40))
    assert _figures().totals["published"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(staff).post(f"/practices/{practice.pk}/archive/", {"reason": "Duplicates another."})
    assert response.status_code == 302 and _figures().totals["published"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        as_user(staff).post(f"/practices/{practice.pk}/unarchive/")
    data = _figures()
    assert data.totals["published"] == 1
    # Counted on the day it was first published, not the day it came back.
    assert [m["month"] for m in data.months] == [local_day(practice.published_at).replace(day=1)]


def test_changing_the_audience_keeps_the_practice_counted(as_user, teacher, django_capture_on_commit_callbacks):
    client = as_user(teacher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/practices/new/", practice_post())
    practice = Practice.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/practices/{practice.pk}/edit/", practice_post(visibility=Visibility.SCHOOL))
    practice.refresh_from_db()
    assert practice.visibility == Visibility.SCHOOL
    # The dashboard counts what each school publishes, whoever it is shared with.
    assert _school(_figures(), "maple-grove").published == 1


def test_an_adaptation_at_another_school_counts_for_it_and_as_a_flow(
    as_user, teacher, other_teacher, django_capture_on_commit_callbacks
):
    original = PracticeFactory(author=teacher, title="Exit tickets")
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(other_teacher).post(
            f"/practices/{original.pk}/adapt/",
            practice_post(title="Our version", adaptation_changes="Shorter periods, so we regroup at the end."),
        )
    assert response.status_code == 302
    data = _figures()
    assert (_school(data, "maple-grove").published, _school(data, "riverside").published) == (1, 1)
    assert [(f.source, f.target, f.count) for f in data.flows["adaptation"]] == [
        ("Maple Grove Elementary", "Riverside Middle School", 1)
    ]
    assert [(row["practice_title"], row["n"]) for row in data.top_adapted] == [("Exit tickets", 1)]


def test_an_approved_visit_and_its_check_in_show_at_once(principal, other_teacher, django_capture_on_commit_callbacks):
    soon = timezone.now() + timedelta(hours=1)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=soon, ends_at=soon + timedelta(hours=2), capacity=4)
    visit = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=3)
    assert _figures().flows["visit"] == []
    with django_capture_on_commit_callbacks(execute=True):
        visit_request_approve(visit=visit)
    # The session takes place (requests are decided before it starts; check-in comes after).
    past = timezone.now() - timedelta(days=1)
    slot.refresh_from_db()
    slot.starts_at, slot.ends_at = past, past + timedelta(hours=2)
    slot.save(update_fields=["starts_at", "ends_at"])
    data = _figures()
    assert [(f.source, f.target, f.count) for f in data.flows["visit"]] == [
        ("Maple Grove Elementary", "Riverside Middle School", 1)
    ]
    assert (data.totals["sessions"], data.totals["seats"], data.totals["sessions_checked_in"]) == (1, 3, 0)
    with django_capture_on_commit_callbacks(execute=True):
        slot_attendance_record(slot=slot, marks={visit.pk: Attendance.ATTENDED})
    data = _figures()
    assert (data.totals["seats"], data.totals["sessions_checked_in"], data.totals["seats_attended"]) == (3, 1, 3)
    assert VisitRequest.objects.get().status == RequestStatus.APPROVED


def test_a_write_that_is_rolled_back_changes_no_summary(teacher, django_capture_on_commit_callbacks):
    kept = PracticeFactory(author=teacher)
    rows = summary_rows(PracticeDay)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        PracticeFactory(author=teacher)
        practice_archive(practice=kept, by=teacher, reason="Never mind")
        transaction.set_rollback(True)
    assert summary_rows(PracticeDay) == rows and _figures().totals["published"] == 1


def test_practices_loaded_in_bulk_are_counted_once_the_summaries_are_missing(teacher):
    """A bulk load writes no signal: a district without summaries has them built when counted."""
    Practice.objects.bulk_create(
        [
            Practice(title=f"Bulk {n}", school=teacher.school, author=teacher, status=Status.PUBLISHED,
                     published_at=timezone.now() - timedelta(days=n * 20))
            for n in range(5)
        ]
    )  # fmt: skip
    assert not PracticeMonth.objects.exists()
    assert _figures().totals["published"] == 5
    assert sum(row[2] for row in summary_rows(PracticeMonth)) == 5


def test_the_rebuild_command_counts_every_practice_again(teacher, capsys):
    PracticeFactory.create_batch(3, author=teacher)
    PracticeDay.objects.all().delete()
    PracticeMonth.objects.all().delete()
    call_command("rebuild_summaries")
    assert "Summaries rebuilt: 1 school-days" in capsys.readouterr().out
    assert summary_rows(PracticeDay) == [(teacher.school_id, timezone.localdate(), 3, 0, 0)]


# -- A rebuild gives the rows the writes kept, whatever the writes -----------------------------------

WRITES = ["publish", "draft", "move", "move_school", "archive", "unarchive", "failure", "iterations", "delete"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(
        st.tuples(st.sampled_from(WRITES), st.integers(0, 5), st.integers(-500, 500)), min_size=1, max_size=14
    )
)
def test_a_rebuild_gives_the_same_rows_as_the_writes_kept(
    writes, teacher, other_teacher, django_capture_on_commit_callbacks
):
    with transaction.atomic():
        practices: list[Practice] = []
        with django_capture_on_commit_callbacks(execute=True):
            for write, which, hours in writes:
                # Hours either side of now, so writes cross days and months (and their ends).
                moment = timezone.now() + timedelta(hours=hours * 7)
                practice = practices[which % len(practices)] if practices else None
                if write == "publish" or practice is None:
                    practices.append(PracticeFactory(author=teacher, published_at=moment))
                elif write == "draft":
                    practices.append(PracticeFactory(author=other_teacher, status=Status.DRAFT, published_at=None))
                elif write == "move":
                    practice.published_at = moment
                    practice.save()
                elif write == "move_school":
                    practice.author, practice.school = other_teacher, other_teacher.school
                    practice.save()
                elif write == "archive":
                    practice_archive(practice=practice, by=teacher, reason="Tidying")
                elif write == "unarchive":
                    practice_unarchive(practice=practice, by=teacher)
                elif write == "failure":
                    FailureFactory(practice=practice)
                elif write == "iterations":
                    IterationFactory.create_batch(2, practice=practice)
                else:
                    practice.delete()
                    practices.remove(practice)
        models = (PracticeDay, PracticeMonth, PracticeTotal, DistrictDay, DistrictMonth)
        kept = [summary_rows(model) for model in models]
        summaries_rebuild()
        assert [summary_rows(model) for model in models] == kept
        transaction.set_rollback(True)


# -- The figures equal a count of the practices themselves -------------------------------------------


def _counted_by_hand(scope, period, now):
    """What the dashboard's practice figures count, counted one practice at a time."""
    schools: dict[int, list[int]] = {}
    months: dict[date, list[int]] = {}
    windows: dict[str, list[int]] = {}
    first = scope.start or date.min
    last = scope.end or date.max
    recent_since = now - timedelta(days=PERIOD_DAYS)
    for practice in Practice.objects.filter(status=Status.PUBLISHED).select_related("school"):
        if scope.level and practice.school.level != scope.level:
            continue
        assert practice.published_at is not None
        day = local_day(practice.published_at)
        counts = (1, int(practice.failure_count > 0), int(practice.iteration_count >= 2))
        if period.previous_start <= day <= period.end:
            window = "current" if day >= period.start else "previous"
            windows[window] = [a + b for a, b in zip(windows.get(window, [0, 0, 0]), counts, strict=True)]
        if not first <= day <= last:
            continue
        row = schools.setdefault(practice.school_id, [0, 0, 0, 0])
        row[:3] = [a + b for a, b in zip(row[:3], counts, strict=True)]
        row[3] += practice.published_at >= recent_since
        month = months.setdefault(day.replace(day=1), [0, 0, 0])
        month[:] = [a + b for a, b in zip(month, counts, strict=True)]
    return schools, months, windows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.one_of(st.none(), st.integers(-200, 10)),
    length=st.one_of(st.none(), st.integers(0, 150)),
    level=st.sampled_from(["", "elementary", "middle"]),
)
def test_the_figures_equal_a_count_of_the_practices_for_any_dates(start, length, level, teacher, other_teacher):
    """Practices every few days over half a year, at both schools and at hours near midnight and
    near the edge of "the last 90 days"; then dates that cut months anywhere."""
    now = timezone.now()
    if not Practice.objects.exists():
        for n in range(70):
            practice = PracticeFactory(
                author=teacher if n % 3 else other_teacher,
                published_at=now - timedelta(days=PERIOD_DAYS) + timedelta(hours=(n % 7) - 3)
                if n % 10 == 0
                else now - timedelta(days=n * 3, hours=n % 24),
            )
            if n % 4 == 0:
                FailureFactory(practice=practice)
            if n % 5 == 0:
                IterationFactory.create_batch(2, practice=practice)
    today = timezone.localdate()
    first = None if start is None else today + timedelta(days=start)
    last = None if length is None else (first or today - timedelta(days=100)) + timedelta(days=length)
    scope = Scope(level=level, start=first, end=last)
    period = scope.period(today)
    schools, months, windows = _practice_figures(scope, period)
    expected_schools, expected_months, expected_windows = _counted_by_hand(scope, period, timezone.now())
    assert {
        school_id: [row["published"], row["with_failures"], row["with_evolution"], row["recent"]]
        for school_id, row in schools.items()
    } == expected_schools
    assert {m["month"]: m["published"] for m in months if m["published"]} == {
        month: counts[0] for month, counts in expected_months.items()
    }
    assert {key: [row["published"], row["with_failures"], row["with_evolution"]] for key, row in windows.items()} == (
        expected_windows
    )


def test_the_count_takes_the_same_queries_however_many_months_and_whatever_the_dates(
    as_user, leader, teacher, other_teacher, django_assert_max_num_queries
):
    """Session, user, the practice figures (one UNION ALL of the summaries), flows (over every
    day, for the whole district: with the totals' mark, the schools' totals and the pairs that
    may be shown), top adopted, top adapted, featured, schools, survey cycle: fixed, whatever
    the data and its dates."""
    client = as_user(leader)
    PracticeFactory(author=teacher)
    client.get("/dashboard/")
    filtered = {"start": (timezone.localdate() - timedelta(days=75)).isoformat(), "level": "elementary"}
    counts = []
    for query in ({}, filtered):
        figures_changed("district")
        with django_assert_max_num_queries(13) as captured:
            client.get("/dashboard/", query)
        counts.append(len(captured))
    now = timezone.now()
    for n in range(40):
        PracticeFactory(author=teacher if n % 2 else other_teacher, published_at=now - timedelta(days=n * 11))
    for query, few in zip(({}, filtered), counts, strict=True):
        figures_changed("district")
        with django_assert_max_num_queries(few):
            client.get("/dashboard/", query)


def test_the_daily_schedule_counts_the_summaries_again(teacher):
    PracticeFactory(author=teacher)
    PracticeDay.objects.all().delete()
    call_command("run_periodic_jobs", "daily")
    assert summary_rows(PracticeDay) == [(teacher.school_id, timezone.localdate(), 1, 0, 0)]
