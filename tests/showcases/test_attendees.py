"""Attendees: the host's attendee list, checking visitors in on the day, and writing to everyone approved."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from showcases.models import Attendance, RequestStatus, SessionMessage, ShowcaseStatus, VisitRequest, VisitSlot
from showcases.services import slot_attendance_record
from tests.factories import StaffFactory, TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def today_slot(principal):
    """A session under way today, with two approved parties."""
    now = timezone.now()
    return VisitSlotFactory(
        showcase__host=principal,
        showcase__title="Student-led conferences",
        starts_at=now,
        ends_at=now + timedelta(hours=1),
    )


def _approve(slot, requester, seats=1, **fields):
    visit = VisitRequest.objects.create(
        slot=slot, requester=requester, seats=seats, status=RequestStatus.APPROVED, **fields
    )
    VisitSlot.objects.filter(pk=slot.pk).update(seats_taken=slot.seats_taken + seats)
    slot.refresh_from_db()
    return visit


def _rows(response):
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


# -- The attendee list


def test_host_downloads_approved_and_waiting_visitors_by_session(as_user, principal, other_teacher, other_school):
    first = VisitSlotFactory(showcase__host=principal, location="Library")
    later = VisitSlotFactory(showcase=first.showcase, starts_at=first.starts_at + timedelta(days=7), location="Gym")
    _approve(later, other_teacher, seats=2, message='=HYPERLINK("http://evil")')
    waiting = TeacherFactory(school=other_school, first_name="Ana", last_name="Lima")
    VisitRequest.objects.create(slot=first, requester=waiting, status=RequestStatus.WAITLISTED)
    VisitRequest.objects.create(
        slot=first, requester=TeacherFactory(school=other_school), status=RequestStatus.DECLINED
    )
    VisitRequest.objects.create(slot=first, requester=TeacherFactory(school=other_school))  # pending
    response = as_user(principal).get(f"/showcases/{first.showcase.pk}/attendees.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="attendees-{first.showcase.pk}.csv"'
    assert response["Cache-Control"] == "private, no-store"
    rows = _rows(response)
    assert [(row["visitor"], row["location"], row["status"], row["waitlist_place"]) for row in rows] == [
        ("Ana Lima", "Library", "On the waiting list", "1"),
        ("Kenji Yamamoto", "Gym", "Approved", ""),
    ]
    kenji = rows[1]
    assert kenji["school"] == "Riverside Middle School" and kenji["email"] == other_teacher.email
    assert kenji["party_size"] == "2" and kenji["attendance"] == "Not recorded"
    # A formula typed by a visitor is written as text.
    assert kenji["hopes_to_learn"] == '\'=HYPERLINK("http://evil")'
    assert kenji["session_starts"] == f"{timezone.localtime(later.starts_at):%Y-%m-%d %H:%M}"


@pytest.mark.parametrize(
    ("reader", "status"), [("teacher", 403), ("leader", 403), ("other_teacher", 403), ("staff", 200)]
)
def test_only_those_who_manage_the_showcase_download_it(as_user, request, today_slot, reader, status):
    response = as_user(request.getfixturevalue(reader)).get(f"/showcases/{today_slot.showcase.pk}/attendees.csv")
    assert response.status_code == status


def test_a_draft_showcase_the_reader_cannot_see_is_not_found(as_user, principal, other_teacher):
    slot = VisitSlotFactory(showcase__host=principal, showcase__status=ShowcaseStatus.DRAFT)
    assert as_user(other_teacher).get(f"/showcases/{slot.showcase.pk}/attendees.csv").status_code == 404


def test_attendee_list_runs_the_same_queries_whatever_the_rows(as_user, principal, other_school):
    """Session, user, the showcase, and every visit with its session, visitor and school at once."""
    slot = VisitSlotFactory(showcase__host=principal, capacity=20)
    client = as_user(principal)

    def count() -> int:
        client.get(f"/showcases/{slot.showcase.pk}/attendees.csv")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/showcases/{slot.showcase.pk}/attendees.csv").status_code == 200
        return len(queries)

    _approve(slot, TeacherFactory(school=other_school))
    few = count()
    for _ in range(5):
        _approve(slot, TeacherFactory(school=other_school))
        VisitRequest.objects.create(
            slot=slot, requester=TeacherFactory(school=other_school), status=RequestStatus.WAITLISTED
        )
    assert count() == few


# -- Checking visitors in


def test_host_checks_visitors_in_on_the_day(as_user, principal, today_slot, other_teacher, other_school):
    came = _approve(today_slot, other_teacher, seats=2)
    absent = _approve(today_slot, TeacherFactory(school=other_school))
    host = as_user(principal)
    page = host.get(f"/showcases/sessions/{today_slot.pk}/attendance/").content.decode()
    assert "<legend>Kenji Yamamoto, Riverside Middle School" in page
    response = host.post(
        f"/showcases/sessions/{today_slot.pk}/attendance/",
        {f"slot{today_slot.pk}-visit-{came.pk}": "attended", f"slot{today_slot.pk}-visit-{absent.pk}": "no_show"},
    )
    assert response.status_code == 302
    came.refresh_from_db()
    absent.refresh_from_db()
    today_slot.refresh_from_db()
    assert (came.attendance, absent.attendance) == (Attendance.ATTENDED, Attendance.NO_SHOW)
    assert today_slot.is_checked_in and today_slot.seats_attended == 2 and today_slot.seats_filled == 2


def test_check_in_from_sessions_i_host_returns_there(as_user, principal, today_slot, other_teacher):
    visit = _approve(today_slot, other_teacher)
    host = as_user(principal)
    page = host.get("/showcases/hosting/").content.decode()
    assert "Today: check visitors in" in page and f'name="slot{today_slot.pk}-visit-{visit.pk}"' in page
    response = host.post(
        f"/showcases/sessions/{today_slot.pk}/attendance/",
        {f"slot{today_slot.pk}-visit-{visit.pk}": "attended", "back": "hosting"},
    )
    assert response.url == "/showcases/hosting/"


def test_undoing_a_check_in_goes_back_to_the_approved_count(principal, today_slot, other_teacher):
    visit = _approve(today_slot, other_teacher, seats=3)
    slot_attendance_record(slot=today_slot, marks={visit.pk: Attendance.NO_SHOW})
    today_slot.refresh_from_db()
    assert today_slot.is_checked_in and today_slot.seats_filled == 0
    slot_attendance_record(slot=today_slot, marks={visit.pk: Attendance.UNRECORDED})
    today_slot.refresh_from_db()
    assert not today_slot.is_checked_in and today_slot.seats_filled == 3


def test_check_in_opens_on_the_day_of_the_session(as_user, principal, other_teacher):
    slot = VisitSlotFactory(showcase__host=principal, starts_at=timezone.now() + timedelta(days=3))
    visit = _approve(slot, other_teacher)
    host = as_user(principal)
    assert (
        "Check-in opens on the day of the session."
        in host.get(f"/showcases/sessions/{slot.pk}/attendance/").content.decode()
    )
    response = host.post(f"/showcases/sessions/{slot.pk}/attendance/", {f"slot{slot.pk}-visit-{visit.pk}": "attended"})
    assert response.status_code == 400
    visit.refresh_from_db()
    assert visit.attendance == Attendance.UNRECORDED
    with pytest.raises(ValidationError):
        slot_attendance_record(slot=slot, marks={visit.pk: Attendance.ATTENDED})


def test_an_unknown_mark_is_an_error_next_to_the_visitor_keeping_the_others(
    as_user, principal, today_slot, other_teacher, other_school
):
    visit = _approve(today_slot, other_teacher)
    other = _approve(today_slot, TeacherFactory(school=other_school))
    field, other_field = f"slot{today_slot.pk}-visit-{visit.pk}", f"slot{today_slot.pk}-visit-{other.pk}"
    response = as_user(principal).post(
        f"/showcases/sessions/{today_slot.pk}/attendance/", {field: "maybe", other_field: "no_show"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page
    assert f'value="no_show" id="id_{other_field}_2" checked' in page
    assert not VisitRequest.objects.exclude(attendance="").exists()


def test_marks_for_visits_of_another_session_are_ignored(principal, today_slot, other_teacher):
    stranger = _approve(VisitSlotFactory(showcase__host=principal), other_teacher)
    slot_attendance_record(slot=today_slot, marks={stranger.pk: Attendance.ATTENDED})
    stranger.refresh_from_db()
    assert stranger.attendance == Attendance.UNRECORDED


@pytest.mark.parametrize(("reader", "status"), [("teacher", 403), ("leader", 403), ("other_teacher", 403)])
def test_only_those_who_manage_the_showcase_check_visitors_in(
    as_user, request, today_slot, other_teacher, reader, status
):
    visit = _approve(today_slot, TeacherFactory(school=other_teacher.school))
    client = as_user(request.getfixturevalue(reader))
    assert client.get(f"/showcases/sessions/{today_slot.pk}/attendance/").status_code == status
    response = client.post(
        f"/showcases/sessions/{today_slot.pk}/attendance/", {f"slot{today_slot.pk}-visit-{visit.pk}": "attended"}
    )
    assert response.status_code == status
    assert not VisitRequest.objects.filter(attendance=Attendance.ATTENDED).exists()


def test_check_in_page_runs_the_same_queries_whatever_the_visitors(as_user, principal, today_slot, other_school):
    """Session, user, the session with its showcase (and the visibility rule), its visitors."""
    client = as_user(principal)

    def count() -> int:
        client.get(f"/showcases/sessions/{today_slot.pk}/attendance/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/showcases/sessions/{today_slot.pk}/attendance/").status_code == 200
        return len(queries)

    _approve(today_slot, TeacherFactory(school=other_school))
    few = count()
    for _ in range(4):
        _approve(today_slot, TeacherFactory(school=other_school))
    assert count() == few
    assert few <= 8


# -- Writing to everyone approved


def test_host_writes_to_each_approved_visitor_separately(
    as_user, principal, today_slot, other_teacher, other_school, mailoutbox, django_capture_on_commit_callbacks
):
    second = TeacherFactory(school=other_school)
    _approve(today_slot, other_teacher)
    _approve(today_slot, second)
    VisitRequest.objects.create(slot=today_slot, requester=TeacherFactory(school=other_school))  # pending
    host = as_user(principal)
    page = host.get(f"/showcases/sessions/{today_slot.pk}/message/").content.decode()
    assert "Goes to the 2 approved visitors" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = host.post(
            f"/showcases/sessions/{today_slot.pk}/message/",
            {"subject": "Parking\nchanged", "body": "Please park on Elm Street."},
        )
    assert response.status_code == 302
    assert sorted(message.to for message in mailoutbox) == sorted([[other_teacher.email], [second.email]])
    for message in mailoutbox:
        assert message.cc == [] and message.bcc == []
        assert message.subject == "Parking changed — “Student-led conferences”"
        assert "Please park on Elm Street." in message.body
        assert other_teacher.email not in message.body and second.email not in message.body
    sent = SessionMessage.objects.get()
    assert (sent.slot, sent.sender, sent.recipients, sent.subject) == (today_slot, principal, 2, "Parking changed")
    assert "Parking changed" in host.get(f"/showcases/sessions/{today_slot.pk}/message/").content.decode()


def test_message_page_runs_the_same_queries_whatever_the_visitors_and_messages(
    as_user, principal, today_slot, other_school
):
    """Session, user, the session with its showcase (and the visibility rule), how many are
    approved, and the messages sent before with their senders."""
    client = as_user(principal)

    def count() -> int:
        client.get(f"/showcases/sessions/{today_slot.pk}/message/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/showcases/sessions/{today_slot.pk}/message/").status_code == 200
        return len(queries)

    _approve(today_slot, TeacherFactory(school=other_school))
    few = count()
    for n in range(4):
        _approve(today_slot, TeacherFactory(school=other_school))
        SessionMessage.objects.create(slot=today_slot, sender=principal, subject=f"Note {n}", body="Hello.")
    assert count() == few
    assert few <= 8


def test_an_empty_message_comes_back_with_what_was_typed(as_user, principal, today_slot, other_teacher, mailoutbox):
    _approve(today_slot, other_teacher)
    response = as_user(principal).post(
        f"/showcases/sessions/{today_slot.pk}/message/", {"subject": "Parking", "body": ""}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_body_error"' in page and 'value="Parking"' in page
    assert not SessionMessage.objects.exists() and mailoutbox == []


def test_nobody_to_write_to_is_said_and_nothing_is_sent(as_user, principal, today_slot, mailoutbox):
    response = as_user(principal).post(
        f"/showcases/sessions/{today_slot.pk}/message/", {"subject": "Hello", "body": "Welcome."}
    )
    assert response.status_code == 400
    assert "nobody to write to" in response.content.decode()
    assert not SessionMessage.objects.exists() and mailoutbox == []


def test_a_cancelled_session_takes_no_message(as_user, principal, today_slot, other_teacher, mailoutbox):
    _approve(today_slot, other_teacher)
    VisitSlot.objects.filter(pk=today_slot.pk).update(cancelled_at=timezone.now())
    response = as_user(principal).post(
        f"/showcases/sessions/{today_slot.pk}/message/", {"subject": "Hello", "body": "Welcome."}
    )
    assert response.status_code == 400 and mailoutbox == []


@pytest.mark.parametrize("reader", ["teacher", "leader", "other_teacher"])
def test_only_those_who_manage_the_showcase_write_to_its_visitors(
    as_user, request, today_slot, other_teacher, reader, mailoutbox
):
    _approve(today_slot, other_teacher)
    client = as_user(request.getfixturevalue(reader))
    assert client.get(f"/showcases/sessions/{today_slot.pk}/message/").status_code == 403
    response = client.post(f"/showcases/sessions/{today_slot.pk}/message/", {"subject": "Hi", "body": "Hello."})
    assert response.status_code == 403 and mailoutbox == []


def test_district_staff_write_as_themselves(
    as_user, today_slot, other_teacher, mailoutbox, django_capture_on_commit_callbacks
):
    staff = StaffFactory(first_name="Samuel", last_name="Okafor")
    _approve(today_slot, other_teacher)
    with django_capture_on_commit_callbacks(execute=True):
        as_user(staff).post(f"/showcases/sessions/{today_slot.pk}/message/", {"subject": "Hi", "body": "Hello."})
    assert "Samuel Okafor writes" in mailoutbox[0].body
