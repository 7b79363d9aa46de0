"""A change to a session reaches its visitors and their calendars: each approved visitor gets
an update of the event already in their calendar (same UID, higher SEQUENCE, METHOD:REQUEST),
those waiting an e-mail saying what changed, and the personal feed shows the new details. A
visitor who cancels gets the cancellation of their own event. A host who cuts the seats below
those approved chooses whom to move to the waiting list. The calendar files are read with the
icalendar library, as a calendar would read them."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from showcases.forms import VisitSlotForm
from showcases.models import CalendarFeed, RequestStatus, VisitRequest, VisitSlot
from showcases.services import (
    slot_details_save,
    visit_request_approve,
    visit_request_cancel,
    visit_request_create,
)
from tests.factories import ShowcaseFactory, TeacherFactory, VisitSlotFactory
from tests.showcases.test_edits import _opened_form

pytestmark = pytest.mark.django_db


def _calendar_of(message) -> Calendar:
    (name, content, mimetype) = message.attachments[0]
    assert (name, mimetype) == ("visit.ics", "text/calendar; charset=utf-8")
    return Calendar.from_ical(content)


def _event(calendar: Calendar):
    (event,) = calendar.walk("VEVENT")
    return event


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def slot(principal):
    start = timezone.localtime(timezone.now() + timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)
    showcase = ShowcaseFactory(host=principal, auto_approve=False, title="Conferences")
    return VisitSlotFactory(
        showcase=showcase, starts_at=start, ends_at=start + timedelta(hours=2), capacity=3, location="Main office"
    )


@pytest.fixture
def visitors(slot, other_school, django_capture_on_commit_callbacks):
    """Two approved visitors (their invitations kept), a third who fills the session, and one on
    the waiting list."""
    people = [TeacherFactory(school=other_school) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        approved = [
            visit_request_approve(visit=visit_request_create(slot=slot, requester=person, seats=1))
            for person in people[:2]
        ]
        visit_request_approve(  # fills the session
            visit=visit_request_create(slot=slot, requester=TeacherFactory(school=other_school), seats=1)
        )
        waiting = visit_request_create(slot=slot, requester=people[2], seats=1)
    invitations = {
        visit.requester.email: _event(
            _calendar_of(next(m for m in mail.outbox if m.to == [visit.requester.email] and "confirmed" in m.subject))
        )
        for visit in approved
    }
    mail.outbox.clear()
    return approved, waiting, invitations


def _move(as_user, principal, slot, **typed: str):
    form = _opened_form(as_user(principal), slot.showcase)
    for name, value in typed.items():
        form[f"slots-0-{name}"] = [value]
    return as_user(principal).post(f"/showcases/{slot.showcase.pk}/edit/", form)


def test_moved_session_updates_each_approved_visitors_event(
    as_user, principal, slot, visitors, django_capture_on_commit_callbacks
):
    approved, _waiting, invitations = visitors
    new_start = slot.starts_at + timedelta(days=1, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = _move(
            as_user,
            principal,
            slot,
            starts_at=_local(new_start),
            ends_at=_local(new_start + timedelta(hours=2)),
            location="Room 114",
        )
    assert response.status_code == 302
    for visit in approved:
        (message,) = [m for m in mail.outbox if m.to == [visit.requester.email]]
        assert message.subject == "Changed: your visit to “Conferences”"
        assert "Where: Main office → Room 114" in message.body
        assert "Starts: " in message.body and " → " in message.body
        calendar = _calendar_of(message)
        assert calendar["METHOD"] == "REQUEST"
        event, before = _event(calendar), invitations[visit.requester.email]
        assert event["UID"] == before["UID"]
        assert event.decoded("SEQUENCE") > before.decoded("SEQUENCE")
        assert event.decoded("DTSTART") == new_start
        assert "Room 114" in str(event["LOCATION"])
        assert str(event["ATTENDEE"]) == f"mailto:{visit.requester.email}"


def test_the_waiting_list_is_told_what_changed_without_a_calendar_event(
    as_user, principal, slot, visitors, django_capture_on_commit_callbacks
):
    _approved, waiting, _invitations = visitors
    with django_capture_on_commit_callbacks(execute=True):
        assert _move(as_user, principal, slot, location="Room 114").status_code == 302
    (message,) = [m for m in mail.outbox if m.to == [waiting.requester.email]]
    assert "Where: Main office → Room 114" in message.body
    assert "still on the waiting list" in message.body
    assert message.attachments == []


def test_the_personal_feed_shows_the_new_time(client, as_user, principal, slot, visitors):
    approved, _waiting, _invitations = visitors
    feed = CalendarFeed.objects.create(user=approved[0].requester)
    new_start = slot.starts_at + timedelta(days=2)
    _move(as_user, principal, slot, starts_at=_local(new_start), ends_at=_local(new_start + timedelta(hours=1)))
    events = Calendar.from_ical(client.get("/showcases/calendar.ics", {"token": feed.token}).content).walk("VEVENT")
    assert [(str(e["UID"]), e.decoded("DTSTART")) for e in events] == [(approved[0].ical_uid, new_start)]


def test_more_seats_tell_only_those_waiting_and_seat_them_in_order(
    as_user, principal, slot, visitors, django_capture_on_commit_callbacks
):
    approved, waiting, _invitations = visitors
    with django_capture_on_commit_callbacks(execute=True):
        assert _move(as_user, principal, slot, capacity="4").status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == RequestStatus.APPROVED
    assert [m.subject for m in mail.outbox if m.to == [waiting.requester.email]] == [
        "A seat opened up: your visit to “Conferences” is confirmed"
    ]
    assert not [m for m in mail.outbox if m.to[0] in {v.requester.email for v in approved}]
    assert VisitSlot.objects.get().seats_taken == 4


def test_a_change_made_in_the_admin_reaches_visitors_too(slot, visitors, django_capture_on_commit_callbacks):
    approved, _waiting, invitations = visitors
    with django_capture_on_commit_callbacks(execute=True):
        slot_details_save(slot_id=slot.pk, changes={"location": "Gym"})
    message = next(m for m in mail.outbox if m.to == [approved[0].requester.email])
    event = _event(_calendar_of(message))
    assert event.decoded("SEQUENCE") > invitations[approved[0].requester.email].decoded("SEQUENCE")


def test_a_visitor_who_cancels_gets_the_cancellation_of_their_own_event(
    slot, visitors, django_capture_on_commit_callbacks
):
    approved, _waiting, invitations = visitors
    visit = approved[0]
    with django_capture_on_commit_callbacks(execute=True):
        visit_request_cancel(visit=visit, reason="A fire drill moved to that morning.")
    (own,) = [m for m in mail.outbox if m.to == [visit.requester.email]]
    calendar = _calendar_of(own)
    assert calendar["METHOD"] == "CANCEL"
    event = _event(calendar)
    assert event["UID"] == invitations[visit.requester.email]["UID"]
    assert event.decoded("SEQUENCE") > invitations[visit.requester.email].decoded("SEQUENCE")
    assert event["STATUS"] == "CANCELLED"
    host = next(m for m in mail.outbox if m.to == [slot.showcase.host.email])
    assert "Their reason: A fire drill moved to that morning." in host.body


def test_withdrawing_a_request_without_a_seat_sends_no_calendar_file(
    slot, visitors, django_capture_on_commit_callbacks
):
    _approved, waiting, _invitations = visitors
    with django_capture_on_commit_callbacks(execute=True):
        visit_request_cancel(visit=waiting)
    (own,) = [m for m in mail.outbox if m.to == [waiting.requester.email]]
    assert own.subject.startswith("Withdrawn as you asked") and own.attachments == []


# Cutting seats below those approved: the host chooses whom to move to the waiting list.


def test_cutting_seats_below_those_approved_asks_whom_to_move_and_keeps_what_was_typed(
    as_user, principal, slot, visitors
):
    approved, _waiting, _invitations = visitors
    response = _move(as_user, principal, slot, capacity="2", location="Room 114")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_slots-0-capacity_error"' in page and "3 seats are already approved" in page
    assert "Move to the waiting list" in page
    for visit in approved:
        assert f'value="{visit.pk}"' in page
    assert 'value="Room 114"' in page
    slot.refresh_from_db()
    assert (slot.capacity, slot.seats_taken, slot.location) == (3, 3, "Main office")


def test_ticking_too_few_to_move_is_refused_next_to_the_seats(as_user, principal, slot, visitors):
    approved, _waiting, _invitations = visitors
    form = _opened_form(as_user(principal), slot.showcase)
    form["slots-0-capacity"] = ["1"]
    form["slots-0-to_waitlist"] = [str(approved[0].pk)]
    response = as_user(principal).post(f"/showcases/{slot.showcase.pk}/edit/", form)
    assert response.status_code == 400
    assert "those ticked hold 1" in response.content.decode()
    assert VisitRequest.objects.filter(status=RequestStatus.APPROVED).count() == 3


def test_the_parties_chosen_move_to_the_waiting_list_and_are_told(
    as_user, principal, slot, visitors, django_capture_on_commit_callbacks
):
    approved, waiting, invitations = visitors
    moved = approved[1]
    form = _opened_form(as_user(principal), slot.showcase)
    form["slots-0-capacity"] = ["2"]
    form["slots-0-to_waitlist"] = [str(moved.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(principal).post(f"/showcases/{slot.showcase.pk}/edit/", form).status_code == 302
    slot.refresh_from_db()
    moved.refresh_from_db()
    assert (slot.capacity, slot.seats_taken, moved.status) == (2, 2, RequestStatus.WAITLISTED)
    (message,) = [m for m in mail.outbox if m.to == [moved.requester.email]]
    assert "now on the waiting list" in message.body
    calendar = _calendar_of(message)
    assert calendar["METHOD"] == "CANCEL"
    assert _event(calendar)["UID"] == invitations[moved.requester.email]["UID"]
    # Fewer seats are no news to those who keep theirs, nor a seat to those waiting.
    assert not [m for m in mail.outbox if m.to == [approved[0].requester.email]]
    waiting.refresh_from_db()
    assert waiting.status == RequestStatus.WAITLISTED


def test_a_party_chosen_who_cancelled_meanwhile_frees_no_seat_under_the_lock(
    as_user, principal, slot, visitors, monkeypatch
):
    """The form counted the seats as it read them; the save counts them again under the lock."""
    approved, _waiting, _invitations = visitors
    form = _opened_form(as_user(principal), slot.showcase)
    form["slots-0-capacity"] = ["2"]
    form["slots-0-to_waitlist"] = [str(approved[1].pk)]
    clean = VisitSlotForm.clean

    def clean_then_cancel(self):
        cleaned = clean(self)
        visit_request_cancel(visit=VisitRequest.objects.get(pk=approved[1].pk))
        # A waiting party takes the freed seat, so three are approved again.
        return cleaned

    monkeypatch.setattr(VisitSlotForm, "clean", clean_then_cancel)
    response = as_user(principal).post(f"/showcases/{slot.showcase.pk}/edit/", form)
    assert response.status_code == 400
    assert "3 seats are already approved" in response.content.decode()
    slot.refresh_from_db()
    assert (slot.capacity, slot.seats_taken) == (3, 3)
