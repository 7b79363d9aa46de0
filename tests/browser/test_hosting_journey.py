"""Hosting showcase visits in Chromium: the host decides from the home page, checks visitors in on
the day and sees them counted on the dashboard; the hosting pages read on a phone without
scrolling sideways. Every page visited is scanned with axe-core."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from showcases.models import Attendance, CalendarFeed, RequestStatus, VisitRequest, VisitSlot
from tests.factories import TEST_PASSWORD, SchoolFactory, TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def test_host_approves_from_the_home_page_and_checks_visitors_in(journey, principal, other_teacher, other_school):
    page = journey.page
    slot = VisitSlotFactory(
        showcase__host=principal,
        showcase__title="Student-led conferences",
        starts_at=timezone.now() + timedelta(days=3),
        capacity=4,
    )
    kenji = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=2, message="How do you start?")
    ana = VisitRequest.objects.create(
        slot=slot, requester=TeacherFactory(school=other_school, first_name="Ana", last_name="Lima")
    )

    journey.sign_in("principal", TEST_PASSWORD)
    assert page.get_by_role("link", name="Requests 2 awaiting you").is_visible()
    requests = page.get_by_role("region", name="Requests awaiting you 2")
    requests.get_by_role("textbox", name="Note with the approval to Kenji Yamamoto (optional)").fill(
        "Park behind the gym."
    )
    requests.get_by_role("button", name="Approve Kenji Yamamoto").click()
    journey.check()
    assert "Approved: Kenji Yamamoto has a seat" in page.get_by_role("status").inner_text()
    assert page.url.endswith("/")
    page.get_by_role("textbox", name="Reason for declining Ana Lima's request (optional)").fill("We are full that day.")
    page.get_by_role("button", name="Decline Ana Lima").click()
    journey.check()
    kenji.refresh_from_db()
    ana.refresh_from_db()
    assert (kenji.status, kenji.host_note) == (RequestStatus.APPROVED, "Park behind the gym.")
    assert (ana.status, ana.host_note) == (RequestStatus.DECLINED, "We are full that day.")
    assert page.get_by_role("link", name="Requests 2 awaiting you").count() == 0
    assert "2 of 4" in page.get_by_role("region", name="Sessions coming up").inner_text()

    # The day of the visit.
    now = timezone.now()
    VisitSlot.objects.filter(pk=slot.pk).update(starts_at=now, ends_at=now + timedelta(hours=2))
    journey.goto("/showcases/hosting/")
    check_in = page.get_by_role("region", name="Today: check visitors in")
    check_in.get_by_role("group", name="Kenji Yamamoto, Riverside Middle School (party of 2)").get_by_label(
        "Attended"
    ).check()
    check_in.get_by_role("button", name="Save check-in").click()
    journey.check()
    assert "Check-in saved: 1 attended, 0 no-show." in page.get_by_role("status").inner_text()
    kenji.refresh_from_db()
    assert kenji.attendance == Attendance.ATTENDED

    # The dashboard counts who came.
    journey.goto("/dashboard/")
    assert (
        "2 seats filled (2 by visitors checked in at 1 session"
        in page.get_by_text("showcase sessions held").inner_text()
    )


def _hosting_data(principal, other_school) -> None:
    """A host with a request to decide, a session to come, one today and one past, and visits
    of their own to another school (one approved, one on the waiting list), with long names."""
    title = "Student-led conferences where every learner explains their portfolio to families"
    soon = VisitSlotFactory(showcase__host=principal, showcase__title=title, capacity=3)
    VisitRequest.objects.create(
        slot=soon,
        requester=TeacherFactory(school=other_school, first_name="Maximiliana", last_name="Featherstonehaugh-Smythe"),
        message="We would like to see how the youngest students prepare their conference folders.",
    )
    now = timezone.now()
    today = VisitSlotFactory(showcase=soon.showcase, starts_at=now, ends_at=now + timedelta(hours=2))
    VisitRequest.objects.create(
        slot=today, requester=TeacherFactory(school=other_school), status=RequestStatus.APPROVED
    )
    past = now - timedelta(days=4)
    VisitSlotFactory(showcase=soon.showcase, starts_at=past, ends_at=past + timedelta(hours=2))
    away = SchoolFactory(name="Northwestern Collegiate Academy of Science and Mathematics")
    elsewhere = VisitSlotFactory(
        showcase__host__school=away,
        showcase__title="Reading buddies across grades with a very long descriptive title for phones",
        capacity=1,
        seats_taken=1,
    )
    VisitRequest.objects.create(
        slot=elsewhere, requester=TeacherFactory(school=other_school), status=RequestStatus.APPROVED
    )
    VisitRequest.objects.create(slot=elsewhere, requester=principal, status=RequestStatus.WAITLISTED)
    other = VisitSlotFactory(showcase=elsewhere.showcase, starts_at=now + timedelta(days=9))
    VisitRequest.objects.create(slot=other, requester=principal, status=RequestStatus.APPROVED)
    CalendarFeed.objects.create(user=principal)


@pytest.mark.parametrize(("size", "width"), [(PHONE, 390), (DESKTOP, 1440)])
def test_hosting_pages_never_scroll_sideways(journey, principal, other_school, tmp_path, size, width):
    page = journey.page
    _hosting_data(principal, other_school)
    today = VisitSlot.objects.filter(requests__status=RequestStatus.APPROVED, showcase__host=principal).get()
    page.set_viewport_size(size)
    journey.sign_in("principal", TEST_PASSWORD)
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    for name, path in [
        ("home", "/"),
        ("hosting", "/showcases/hosting/"),
        ("my-visits", "/showcases/visits/"),
        ("calendar", "/showcases/calendar/"),
        ("check-in", f"/showcases/sessions/{today.pk}/attendance/"),
        ("message", f"/showcases/sessions/{today.pk}/message/"),
    ]:
        journey.goto(path)
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{path} is {scroll_width}px wide at {width}px"
    # On a phone the month is a list of days; on a wide screen, a grid.
    journey.goto("/showcases/calendar/")
    assert page.locator("table.month").is_visible() is (width > 390)
    assert page.locator(".month-agenda").is_visible() is (width == 390)


def test_the_feed_address_is_copied_with_the_button(journey, browser, principal):
    CalendarFeed.objects.create(user=principal)
    journey.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    journey.sign_in("principal", TEST_PASSWORD)
    journey.goto("/showcases/visits/")
    page = journey.page
    page.get_by_role("button", name="Copy the calendar address").click()
    assert page.get_by_role("status").filter(has_text="Copied.").is_visible()
    address = page.get_by_label("Calendar address").input_value()
    assert "/showcases/calendar.ics?token=" in address
    assert page.get_by_role("link", name="Subscribe with your calendar app (webcal)").get_attribute("href") == (
        "webcal://" + address.split("://", 1)[1]
    )
