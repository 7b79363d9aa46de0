from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from icalendar import Calendar

from showcases.calendar import visit_ics
from showcases.models import RequestStatus, VisitRequest
from showcases.services import (
    slot_cancel,
    visit_request_approve,
    visit_request_cancel,
    visit_request_create,
    visit_request_decline,
)
from tests.factories import TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def slot(principal):
    return VisitSlotFactory(showcase__host=principal, capacity=5)


def _visitors(school, count):
    return [TeacherFactory(school=school) for _ in range(count)]


def test_manual_approval_holds_seats_and_fills_then_waitlists(slot, other_school):
    visits = [visit_request_create(slot=slot, requester=user, seats=2) for user in _visitors(other_school, 3)]
    assert {v.status for v in visits} == {RequestStatus.PENDING}
    assert [visit_request_approve(visit=v).status for v in visits] == ["approved", "approved", "waitlisted"]
    slot.refresh_from_db()
    assert slot.seats_taken == 4 and slot.seats_left == 1


def test_auto_approve_until_full_then_waiting_list_in_order(slot, other_school):
    slot.showcase.auto_approve = True
    slot.showcase.save()
    statuses = [visit_request_create(slot=slot, requester=u, seats=1).status for u in _visitors(other_school, 7)]
    assert statuses == ["approved"] * 5 + ["waitlisted"] * 2


def test_cancelling_an_approved_seat_promotes_the_first_waitlisted_and_emails_them(
    slot, other_school, django_capture_on_commit_callbacks
):
    slot.showcase.auto_approve = True
    slot.showcase.save()
    visits = [visit_request_create(slot=slot, requester=u, seats=1) for u in _visitors(other_school, 7)]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        visit_request_cancel(visit=visits[0])
    first_waiting, second_waiting = (VisitRequest.objects.get(pk=v.pk) for v in visits[5:])
    assert first_waiting.status == "approved" and second_waiting.status == "waitlisted"
    promoted = [m for m in mail.outbox if m.to == [first_waiting.requester.email]]
    assert len(promoted) == 1 and "seat opened up" in promoted[0].subject
    assert promoted[0].attachments[0][0] == "visit.ics"
    slot.refresh_from_db()
    assert slot.seats_taken == 5


def test_a_party_that_does_not_fit_is_skipped_for_one_that_does(slot, other_school):
    slot.showcase.auto_approve = True
    slot.showcase.save()
    a, b, c = _visitors(other_school, 3)
    first = visit_request_create(slot=slot, requester=a, seats=4)
    big = visit_request_create(slot=slot, requester=b, seats=3)
    small = visit_request_create(slot=slot, requester=c, seats=1)
    assert (first.status, big.status, small.status) == ("approved", "waitlisted", "waitlisted")
    visit_request_cancel(visit=first)
    big.refresh_from_db()
    small.refresh_from_db()
    assert (big.status, small.status) == ("approved", "approved")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("own", "This is your own school's showcase."),
        ("twice", "You already have a request for this session."),
        ("past", "This session has already started"),
        ("too_big", "This session has 5 seats in all; your party of 6 is larger."),
    ],
)
def test_requests_that_cannot_be_taken_are_refused_with_a_reason(slot, other_teacher, teacher, case, message):
    requester, seats = other_teacher, 1
    if case == "own":
        requester = teacher
    elif case == "twice":
        visit_request_create(slot=slot, requester=other_teacher, seats=1)
    elif case == "past":
        slot.starts_at = timezone.now() - timedelta(hours=1)
        slot.ends_at = timezone.now() + timedelta(hours=1)
        slot.save()
    elif case == "too_big":
        seats = 6
    with pytest.raises(ValidationError) as caught:
        visit_request_create(slot=slot, requester=requester, seats=seats)
    assert message in str(caught.value)


def test_a_declined_or_cancelled_visitor_may_ask_again(slot, other_teacher):
    visit = visit_request_create(slot=slot, requester=other_teacher, seats=1)
    visit_request_decline(visit=visit, note="Full of district visitors that day")
    again = visit_request_create(slot=slot, requester=other_teacher, seats=1)
    assert again.status == "pending"


def test_host_cancelling_a_session_tells_everyone_with_a_cancel_calendar(
    slot, other_school, django_capture_on_commit_callbacks
):
    slot.showcase.auto_approve = True
    slot.showcase.save()
    visits = [visit_request_create(slot=slot, requester=u, seats=1) for u in _visitors(other_school, 6)]
    approved = VisitRequest.objects.get(pk=visits[0].pk)
    before = Calendar.from_ical(visit_ics(approved)).walk("VEVENT")[0]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        slot_cancel(slot=slot)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(v.requester.email for v in visits)
    assert all(v.status == "cancelled" for v in VisitRequest.objects.all())
    message = next(m for m in mail.outbox if m.to == [approved.requester.email])
    calendar = Calendar.from_ical(message.attachments[0][1])
    assert calendar["METHOD"] == "CANCEL"
    event = calendar.walk("VEVENT")[0]
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == before["UID"]
    assert event.decoded("SEQUENCE") > before.decoded("SEQUENCE")


def test_approval_email_carries_a_calendar_file_that_parses(slot, other_teacher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        visit = visit_request_create(slot=slot, requester=other_teacher, seats=2, message="Conferences")
        visit_request_approve(visit=visit, note="See you at the office")
    approval = next(m for m in mail.outbox if "confirmed" in m.subject)
    name, content, mimetype = approval.attachments[0]
    assert (name, mimetype) == ("visit.ics", "text/calendar; charset=utf-8")
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == slot.starts_at.replace(microsecond=0)
    assert event["STATUS"] == "CONFIRMED"
    assert "See you at the office" in approval.body
    host_mail = next(m for m in mail.outbox if m.to == [slot.showcase.host.email])
    assert "Conferences" in host_mail.body


def test_a_mail_server_that_is_down_does_not_undo_or_break_the_request(
    slot, other_teacher, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True), caplog.at_level("ERROR", logger="portal.lib.mail"):
        visit = visit_request_create(slot=slot, requester=other_teacher, seats=1)
    assert VisitRequest.objects.filter(pk=visit.pk).exists()
    assert any("Could not send e-mail" in record.getMessage() for record in caplog.records)
