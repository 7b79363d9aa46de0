"""Visitors know where they stand: their place on the waiting list, links that add a visit to
their calendar, a subscription address they can copy, and a month calendar that reads on a phone."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from showcases.calendar_links import google_calendar_url, outlook_calendar_url, webcal_url
from showcases.models import CalendarFeed, RequestStatus, VisitRequest, ordinal
from showcases.services import visit_request_cancel, visit_request_create
from tests.factories import TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_slot(principal, other_school):
    """A session of one seat, taken."""
    slot = VisitSlotFactory(showcase__host=principal, showcase__title="Student-led conferences", capacity=1)
    visit_request_create(slot=slot, requester=TeacherFactory(school=other_school), seats=1)
    VisitRequest.objects.update(status=RequestStatus.APPROVED)
    slot.seats_taken = 1
    slot.save()
    return slot


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (101, "101st"),
        (111, "111th"),
        (112, "112th"),
        (123, "123rd"),
    ],
)
def test_ordinals(number, text):
    assert ordinal(number) == text


def test_waiting_visitors_see_their_place_in_line(as_user, full_slot, other_teacher, other_school):
    first = visit_request_create(slot=full_slot, requester=TeacherFactory(school=other_school), seats=1)
    mine = visit_request_create(slot=full_slot, requester=other_teacher, seats=1)
    assert mine.status == RequestStatus.WAITLISTED
    visitor = as_user(other_teacher)
    assert "2nd on the waiting list" in visitor.get("/showcases/visits/").content.decode()
    assert "you are 2nd on the waiting list" in visitor.get(full_slot.showcase.get_absolute_url()).content.decode()
    visit_request_cancel(visit=first)
    assert "1st on the waiting list" in visitor.get("/showcases/visits/").content.decode()


def test_host_sees_each_waiting_visitors_place(as_user, principal, full_slot, other_teacher):
    visit_request_create(slot=full_slot, requester=other_teacher, seats=1)
    page = as_user(principal).get(full_slot.showcase.get_absolute_url()).content.decode()
    assert "(1st on the waiting list)" in page


def _visit(principal, other_teacher, **slot_fields):
    slot = VisitSlotFactory(
        showcase__host=principal,
        showcase__title="Maths talks & more",
        starts_at=datetime(2031, 3, 4, 15, 0, tzinfo=UTC),
        ends_at=datetime(2031, 3, 4, 17, 30, tzinfo=UTC),
        location="Room 114",
        **slot_fields,
    )
    return VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status=RequestStatus.APPROVED)


def test_google_calendar_link_is_the_event_template_in_utc(principal, other_teacher):
    visit = _visit(principal, other_teacher)
    address = urlsplit(google_calendar_url(visit))
    assert (address.scheme, address.netloc, address.path) == ("https", "calendar.google.com", "/calendar/render")
    query = parse_qs(address.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["dates"] == ["20310304T150000Z/20310304T173000Z"]
    assert query["text"] == ["Showcase visit: Maths talks & more (Maple Grove Elementary)"]
    assert query["location"] == ["Maple Grove Elementary — Room 114"]
    assert "Focus question:" in query["details"][0] and visit.slot.showcase.get_absolute_url() in query["details"][0]
    assert "+" not in address.query  # spaces are %20


def test_outlook_link_is_the_compose_deeplink_in_utc(principal, other_teacher):
    visit = _visit(principal, other_teacher)
    address = urlsplit(outlook_calendar_url(visit))
    assert (address.scheme, address.netloc, address.path) == (
        "https",
        "outlook.live.com",
        "/calendar/0/deeplink/compose",
    )
    query = parse_qs(address.query)
    assert query["path"] == ["/calendar/action/compose"] and query["rru"] == ["addevent"]
    assert query["startdt"] == ["2031-03-04T15:00:00Z"] and query["enddt"] == ["2031-03-04T17:30:00Z"]
    assert query["subject"] == ["Showcase visit: Maths talks & more (Maple Grove Elementary)"]
    assert query["location"] == ["Maple Grove Elementary — Room 114"]


def test_webcal_address_is_the_feed_with_another_scheme():
    assert webcal_url("https://portal.example.org/showcases/calendar.ics?token=abc") == (
        "webcal://portal.example.org/showcases/calendar.ics?token=abc"
    )


def test_my_visits_offers_calendar_links_only_for_approved_visits(as_user, principal, other_teacher):
    approved = _visit(principal, other_teacher)
    pending = VisitRequest.objects.create(slot=VisitSlotFactory(showcase__host=principal), requester=other_teacher)
    page = as_user(other_teacher).get("/showcases/visits/").content.decode()
    assert page.count("https://calendar.google.com/calendar/render?action=TEMPLATE") == 1
    assert page.count("https://outlook.live.com/calendar/0/deeplink/compose?") == 1
    assert f"/showcases/requests/{approved.pk}/calendar.ics" in page
    assert f"/showcases/requests/{pending.pk}/calendar.ics" not in page


def test_feed_address_is_selectable_without_script_with_a_webcal_link_and_a_copy_button(as_user, other_teacher):
    feed = CalendarFeed.objects.create(user=other_teacher)
    page = as_user(other_teacher).get("/showcases/visits/").content.decode()
    address = f"http://testserver/showcases/calendar.ics?token={feed.token}"
    assert f'<input type="text" id="feed-url" readonly value="{address}"' in page
    assert f'href="webcal://testserver/showcases/calendar.ics?token={feed.token}"' in page
    # The button is shown by the script that makes it work.
    assert '<button type="button" class="button small" data-copy="feed-url" hidden>' in page
    assert '<script src="/static/js/copy-field.js" defer></script>' in page


def test_my_visits_keeps_past_visits_apart(as_user, principal, other_teacher):
    past = timezone.now() - timedelta(days=3)
    slot = VisitSlotFactory(
        showcase__host=principal, showcase__title="Reading buddies", starts_at=past, ends_at=past + timedelta(hours=1)
    )
    VisitRequest.objects.create(slot=slot, requester=other_teacher, status=RequestStatus.APPROVED)
    page = as_user(other_teacher).get("/showcases/visits/").content.decode()
    coming, gone = page.split('id="h-past"')
    assert "Reading buddies" not in coming and "Reflect on Reading buddies" in gone


def test_month_calendar_lists_the_days_with_sessions_for_narrow_screens(as_user, principal, teacher):
    start = timezone.localtime().replace(day=14, hour=9, minute=0, second=0, microsecond=0) + timedelta(days=40)
    VisitSlotFactory(showcase__host=principal, showcase__title="Student-led conferences", starts_at=start)
    response = as_user(teacher).get(f"/showcases/calendar/?month={start:%Y-%m}")
    agenda = response.content.decode().split('class="month-agenda"')[1]
    assert f'<time datetime="{start:%Y-%m-%d}">{start:%A, %B} {start.day}</time>' in agenda
    assert "Student-led conferences" in agenda
    assert [day for day, _slots in response.context["agenda"]] == [start.date()]
