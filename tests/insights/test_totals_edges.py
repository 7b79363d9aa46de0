"""Edges of the district dashboard's totals (FlowTotal, FlowSchoolTotal, FlowMark, DistrictDay,
DistrictMonth): what the page reads from them equals what it counts from the days, when a school
goes with its last rows, and when the nightly rebuild moves the mark between the page's reads."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insights import summaries
from insights.district import Scope, _flows, build_district_dashboard
from insights.models import DistrictMonth, FlowKind, FlowMark
from insights.summaries import flow_total_rows, flow_totals_rebuild, summaries_rebuild, summary_rows
from portal.models import School
from practices.models import Adoption
from showcases.models import RequestStatus, VisitRequest
from tests.factories import PracticeFactory, SchoolFactory, TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


def _whole(shown: int | None = 15):
    scope = Scope()
    return _flows(scope, scope.period(timezone.localdate()), {s.pk: s for s in School.objects.all()}, shown)


def _from_days(monkeypatch):
    """The same figures counted from the days (no mark: the totals are not read)."""
    with monkeypatch.context() as patched:
        patched.setattr(summaries, "flows_through", lambda: None)
        return _whole()


def test_a_school_deleted_with_its_last_adopter_leaves_no_adoption_in_the_totals(
    teacher, other_school, django_capture_on_commit_callbacks, monkeypatch
):
    now = timezone.now()
    practice = PracticeFactory(author=teacher, published_at=now - timedelta(days=10))
    adopter = TeacherFactory(school=other_school)
    with django_capture_on_commit_callbacks(execute=True):
        Adoption.objects.create(
            practice=practice, user=adopter, school=other_school, created_at=now - timedelta(days=2)
        )
    assert _whole().totals["adoptions"] == 1
    # The adopter and then their school are deleted in one transaction (or before the queue's
    # worker has run the adoption's recount): the cascade takes the pair's days and total first.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        adopter.delete()
        other_school.delete()
    reference = _from_days(monkeypatch)
    counted = _whole()
    assert reference.totals["adoptions"] == 0 and reference.flow_counts["adoption"] == 0
    assert (counted.totals["adoptions"], counted.flow_counts["adoption"], counted.adopted_out) == (0, 0, {})
    kept = flow_total_rows()
    summaries_rebuild()
    assert flow_total_rows() == kept


def test_a_school_deleted_with_its_entries_leaves_none_in_the_district_months(
    other_school, django_capture_on_commit_callbacks
):
    author = TeacherFactory(school=other_school)
    with django_capture_on_commit_callbacks(execute=True):
        practice = PracticeFactory(author=author, published_at=timezone.now() - timedelta(days=40))
    assert len(summary_rows(DistrictMonth)) == 1
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        practice.delete()
        author.delete()
        other_school.delete()
    data = build_district_dashboard(Scope(), with_survey=False)
    assert data.totals["published"] == 0
    assert [month["published"] for month in data.months] == []
    summaries_rebuild()
    rebuilt = build_district_dashboard(Scope(), with_survey=False)
    assert (data.months, data.changes) == (rebuilt.months, rebuilt.changes)


def test_a_rebuild_between_the_pages_reads_counts_no_session_twice(principal, other_teacher, monkeypatch):
    """The page reads the mark, then the days since it, then the totals, each in a statement of
    its own: the nightly rebuild may commit a new mark and new totals in between (simulated here
    by running it right after the mark is read, as READ COMMITTED lets it)."""
    past = timezone.now() - timedelta(days=2)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2))
    VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status=RequestStatus.APPROVED)
    today = timezone.localdate()
    flow_totals_rebuild(today - timedelta(days=3))
    assert _whole().totals["sessions"] == 1
    read = summaries.flows_through

    def mark_then_rebuild():
        mark = read()
        flow_totals_rebuild(today)  # the nightly rebuild commits here
        return mark

    monkeypatch.setattr(summaries, "flows_through", mark_then_rebuild)
    counted = _whole()
    assert counted.totals["sessions"] == 1
    assert [(flow.count, flow.seats) for flow in counted.flows["visit"]] == [(1, 1)]


def test_two_schools_of_one_name_tied_at_the_last_row_shown_are_chosen_alike(
    teacher, django_capture_on_commit_callbacks, monkeypatch
):
    now = timezone.now()
    practice = PracticeFactory(author=teacher, published_at=now - timedelta(days=10))
    adopters = [TeacherFactory(school=SchoolFactory(name="Lincoln Elementary")) for _ in range(2)]
    for n, adopter in enumerate(adopters):
        Adoption.objects.create(
            practice=practice, user=adopter, school=adopter.school, created_at=now - timedelta(days=3 - n)
        )
    flow_totals_rebuild(timezone.localdate())
    # The first pair's day is recounted (as any write to it does): its total is written again.
    summaries.flows_recount([(FlowKind.ADOPTION, summaries.local_day(now - timedelta(days=3)))])
    scope = Scope()
    every_school = {s.pk: s for s in School.objects.all()}
    counted = _flows(scope, scope.period(timezone.localdate()), every_school, 1)
    with monkeypatch.context() as patched:
        patched.setattr(summaries, "flows_through", lambda: None)
        reference = _flows(scope, scope.period(timezone.localdate()), every_school, 1)
    assert [flow.target_id for flow in counted.flows["adoption"]] == [
        flow.target_id for flow in reference.flows["adoption"]
    ]


def _writes_of_a_read(leader_client) -> list[str]:
    cache.clear()  # a new process, or a cache emptied: the summaries are looked at again
    with CaptureQueriesContext(connection) as queries:
        assert leader_client.get("/dashboard/").status_code == 200
    verbs = ("INSERT", "UPDATE", "DELETE")
    return [q["sql"][:60] for q in queries if q["sql"].lstrip().upper().startswith(verbs) and "insights_" in q["sql"]]


def test_a_page_read_writes_no_totals_when_the_mark_is_missing(
    as_user, leader, principal, other_teacher, django_capture_on_commit_callbacks
):
    past = timezone.now() - timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2))
        VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status=RequestStatus.APPROVED)
    FlowMark.objects.all().delete()
    assert _writes_of_a_read(as_user(leader)) == []


def test_a_page_read_writes_nothing_when_every_session_was_cancelled(as_user, leader, principal):
    past = timezone.now() - timedelta(days=2)
    VisitSlotFactory(
        showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2), cancelled_at=timezone.now()
    )
    assert _writes_of_a_read(as_user(leader)) == []
