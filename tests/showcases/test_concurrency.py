"""Seats are never overbooked, whatever the mix of concurrent requests and approvals (PostgreSQL)."""

import threading
from collections.abc import Callable
from functools import partial

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.db.models import Sum

from showcases.models import RequestStatus, VisitRequest, VisitSlot
from showcases.services import (
    slot_cancel,
    visit_request_approve,
    visit_request_cancel,
    visit_request_create,
    visit_request_decline,
)
from tests.factories import SchoolFactory, TeacherFactory, VisitSlotFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROUNDS = 20
THREADS = 50


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL feature; run with DATABASE_URL pointing at PostgreSQL")


def _run_concurrently(jobs) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job):
        try:
            barrier.wait()
            job()
        except ValidationError:
            pass
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_fifty_concurrent_requests_and_approvals_never_exceed_five_seats():
    host_school, visitor_school = SchoolFactory(), SchoolFactory()
    visitors = [TeacherFactory(school=visitor_school) for _ in range(THREADS)]
    for round_number in range(ROUNDS):
        slot = VisitSlotFactory(showcase__host__school=host_school, showcase__auto_approve=True, capacity=5)
        # Half the visitors already asked while approval was manual; the host approves
        # them while the other half ask with auto-approval on.
        pending = [
            VisitRequest.objects.create(slot=slot, requester=user, seats=1, status=RequestStatus.PENDING)
            for user in visitors[: THREADS // 2]
        ]
        jobs: list[Callable[[], VisitRequest]] = [partial(visit_request_approve, visit=v) for v in pending]
        jobs += [partial(visit_request_create, slot=slot, requester=u, seats=1) for u in visitors[THREADS // 2 :]]
        errors = _run_concurrently(jobs)
        assert errors == [], f"round {round_number}: {errors[:3]}"
        slot.refresh_from_db()
        approved = slot.requests.filter(status=RequestStatus.APPROVED).aggregate(n=Sum("seats"))["n"]
        assert (approved, slot.seats_taken) == (5, 5), f"round {round_number}"
        assert slot.requests.filter(status__in=[RequestStatus.WAITLISTED, RequestStatus.PENDING]).count() == THREADS - 5


def test_concurrent_cancellations_promote_without_overbooking():
    host_school, visitor_school = SchoolFactory(), SchoolFactory()
    visitors = [TeacherFactory(school=visitor_school) for _ in range(20)]
    slot: VisitSlot = VisitSlotFactory(showcase__host__school=host_school, showcase__auto_approve=True, capacity=5)
    visits = [visit_request_create(slot=slot, requester=u, seats=1) for u in visitors]
    approved = [v for v in visits if v.status == RequestStatus.APPROVED]
    errors = _run_concurrently([partial(visit_request_cancel, visit=v) for v in approved])
    assert errors == []
    slot = VisitSlot.objects.get(pk=slot.pk)
    assert slot.seats_taken == 5
    assert slot.requests.filter(status=RequestStatus.APPROVED).count() == 5


def test_a_session_cancelled_while_the_host_approves_and_visitors_withdraw_ends_with_no_seat_held():
    host_school, visitor_school = SchoolFactory(), SchoolFactory()
    visitors = [TeacherFactory(school=visitor_school) for _ in range(12)]
    for round_number in range(5):
        slot = VisitSlotFactory(showcase__host__school=host_school, capacity=4)
        visits = [visit_request_create(slot=slot, requester=user, seats=1) for user in visitors]
        for visit in visits[:3]:
            visit_request_approve(visit=visit)
        jobs: list[Callable[[], object]] = [partial(slot_cancel, slot=slot, reason="Closed")]
        jobs += [partial(visit_request_approve, visit=visit) for visit in visits[3:9]]
        jobs += [partial(visit_request_cancel, visit=visit) for visit in visits[:3]]
        jobs += [partial(visit_request_decline, visit=visit, note="No") for visit in visits[9:]]
        errors = _run_concurrently(jobs)
        assert errors == [], f"round {round_number}: {errors[:3]}"
        slot.refresh_from_db()
        assert slot.is_cancelled and slot.seats_taken == 0, f"round {round_number}"
        assert not slot.requests.filter(status__in=[RequestStatus.APPROVED, RequestStatus.PENDING]).exists()
        assert not slot.requests.filter(status=RequestStatus.WAITLISTED).exists()
