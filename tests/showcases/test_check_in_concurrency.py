"""Check-ins sent at once from several phones count every visitor who came (PostgreSQL)."""

import threading
from datetime import timedelta
from functools import partial

import pytest
from django.db import connection, connections
from django.utils import timezone

from showcases.models import Attendance, RequestStatus, VisitRequest, VisitSlot
from showcases.services import slot_attendance_record
from tests.factories import SchoolFactory, TeacherFactory, VisitSlotFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

VISITORS = 12


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL feature; run with DATABASE_URL pointing at PostgreSQL")


def test_check_ins_at_once_each_count_their_visitor():
    now = timezone.now()
    slot = VisitSlotFactory(
        showcase__host__school=SchoolFactory(), starts_at=now, ends_at=now + timedelta(hours=1), capacity=30
    )
    school = SchoolFactory()
    visits = [
        VisitRequest.objects.create(
            slot=slot, requester=TeacherFactory(school=school), seats=2, status=RequestStatus.APPROVED
        )
        for _ in range(VISITORS)
    ]
    VisitSlot.objects.filter(pk=slot.pk).update(seats_taken=2 * VISITORS)
    barrier = threading.Barrier(VISITORS)
    errors: list[BaseException] = []

    def run(job):
        try:
            barrier.wait()
            job()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(
            target=run, args=(partial(slot_attendance_record, slot=slot, marks={visit.pk: Attendance.ATTENDED}),)
        )
        for visit in visits
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    slot.refresh_from_db()
    assert slot.seats_attended == 2 * VISITORS and slot.is_checked_in
    assert VisitRequest.objects.filter(attendance=Attendance.ATTENDED).count() == VISITORS
