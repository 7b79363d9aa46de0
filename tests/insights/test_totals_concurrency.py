"""On PostgreSQL: two jobs recount different days of the same pair of schools, or different
schools on the same day, at the same moment; the totals they leave equal a rebuild's."""

import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection, connections
from django.utils import timezone

from insights import summaries
from insights.models import DistrictDay, DistrictMonth, FlowKind, PracticeTotal
from insights.summaries import flow_total_rows, flow_totals_rebuild, local_day, summary_rows
from practices.models import Practice, Status
from showcases.models import RequestStatus, VisitRequest
from tests.factories import PracticeFactory, PrincipalFactory, SchoolFactory, TeacherFactory, VisitSlotFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _together(jobs: list[Callable[[], None]]) -> list[BaseException]:
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as error:  # reported to the test
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return failures


def _meet_before(monkeypatch, name: str, parties: int, only: Callable[..., bool] = lambda *a, **k: True) -> None:
    """Each job waits for the others just before `summaries.<name>`: both have written their days."""
    barrier = threading.Barrier(parties, timeout=20)
    original = getattr(summaries, name)

    def meeting(*args, **kwargs):
        if only(*args, **kwargs):
            barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(summaries, name, meeting)


def test_two_days_of_one_pair_recounted_at_once_leave_a_rebuilds_totals(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; run with DATABASE_URL pointing at PostgreSQL")
    host = PrincipalFactory(school=SchoolFactory())
    visitors = [TeacherFactory(school=SchoolFactory()) for _ in range(2)]
    today = timezone.localdate()
    slots = []
    for back in (5, 4):
        moment = timezone.now() - timedelta(days=back)
        slot = VisitSlotFactory(showcase__host=host, starts_at=moment, ends_at=moment + timedelta(hours=2))
        VisitRequest.objects.create(slot=slot, requester=visitors[0], seats=1, status=RequestStatus.APPROVED)
        slots.append(slot)
    flow_totals_rebuild(today)
    # Written without signals: both days' flows are stale until recounted.
    VisitRequest.objects.bulk_create(
        [VisitRequest(slot=slot, requester=visitors[1], seats=2, status=RequestStatus.APPROVED) for slot in slots]
    )
    _meet_before(monkeypatch, "_retotal", 2)
    days = [local_day(slot.starts_at) for slot in slots]
    failures = _together([partial(summaries.flows_recount, [(FlowKind.VISIT, day)]) for day in days])
    assert failures == []
    kept = flow_total_rows()
    flow_totals_rebuild(today)
    assert kept == flow_total_rows()


def test_two_schools_recounted_on_one_day_at_once_leave_a_rebuilds_district_days(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; run with DATABASE_URL pointing at PostgreSQL")
    moment = timezone.now() - timedelta(days=3)
    practices = [PracticeFactory(author=TeacherFactory(school=SchoolFactory()), published_at=moment) for _ in range(2)]
    Practice.objects.filter(pk__in=[p.pk for p in practices]).update(status=Status.DRAFT)  # no signal
    _meet_before(monkeypatch, "_write_district", 2, lambda model, *rest: model is DistrictDay)
    failures = _together([partial(summaries.summaries_recount, [(p.school_id, local_day(moment))]) for p in practices])
    assert failures == []
    kept = [summary_rows(model) for model in (PracticeTotal, DistrictDay, DistrictMonth)]
    summaries.summaries_rebuild()
    assert kept == [summary_rows(model) for model in (PracticeTotal, DistrictDay, DistrictMonth)] == [[], [], []]
