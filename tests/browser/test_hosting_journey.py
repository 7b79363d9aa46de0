"""Hosting showcase visits in Chromium: the host decides from the home page, checks visitors in on
the day and sees them counted on the dashboard; the hosting pages read on a phone without
scrolling sideways. The host adds three sessions on the form (at once, and without JavaScript by
posting the form back) and moves one; a visitor cancels after confirming. Every page visited is
scanned with axe-core."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar
from playwright.sync_api import expect

from showcases.models import Attendance, CalendarFeed, RequestStatus, Showcase, VisitRequest, VisitSlot
from tests.factories import TEST_PASSWORD, PrincipalFactory, SchoolFactory, TeacherFactory, VisitSlotFactory

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
    # The copy is asynchronous: wait for the status to say so.
    expect(page.get_by_role("status").filter(has_text="Copied.")).to_be_visible()
    address = page.get_by_label("Calendar address").input_value()
    assert "/showcases/calendar.ics?token=" in address
    assert page.get_by_role("link", name="Subscribe with your calendar app (webcal)").get_attribute("href") == (
        "webcal://" + address.split("://", 1)[1]
    )


# Sessions as hosts need them: three added on the form, one moved; a visitor cancels after confirming.


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _fill_session(group, starts, *, seats: str, location: str) -> None:
    group.get_by_label("Starts").fill(_local(starts))
    group.get_by_label("Ends").fill(_local(starts + timedelta(hours=2)))
    group.get_by_label("Seats").fill(seats)
    group.get_by_label("Location").fill(location)


def _no_sideways_scrolling(journey, width: int, name: str, shots: Path) -> None:
    journey.page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    scroll_width = journey.page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{journey.page.url} is {scroll_width}px wide at {width}px"


def test_host_adds_three_sessions_and_moves_one(journey, principal, other_teacher, tmp_path):
    page = journey.page
    page.set_viewport_size(PHONE)
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    journey.sign_in("principal", TEST_PASSWORD)
    journey.goto("/showcases/new/")
    page.get_by_label("Title").fill("Number talks")
    page.get_by_label("The practice").fill("Ten minutes of mental math, every morning.")
    page.get_by_label("Impact on student learning").fill("More students explain their strategies.")
    page.get_by_label("Evidence of impact").fill("Recorded talks and exit tickets.")
    page.get_by_label("Focus question").fill("How do students justify a strategy?")
    first = (timezone.localtime() + timedelta(days=6)).replace(hour=9, minute=0, second=0, microsecond=0)
    _fill_session(page.get_by_role("group", name="Session 1"), first, seats="4", location="Room 12")

    # The form opens with a second session to fill; a third is the second a week later.
    second = page.get_by_role("group", name="Session 2")
    _fill_session(second, first + timedelta(days=1), seats="3", location="Library")
    second.get_by_role("button", name="Same time next week (a copy of session 2)").click()
    third = page.get_by_role("group", name="Session 3")
    assert third.get_by_label("Starts").input_value() == _local(first + timedelta(days=8))
    assert third.get_by_label("Location").input_value() == "Library"
    assert third.get_by_label("Starts").evaluate("field => field === document.activeElement")
    # With JavaScript a session is added at once, focus going to it, and removed as quickly.
    page.get_by_role("button", name="Add another session").click()
    fourth = page.get_by_role("group", name="Session 4")
    assert fourth.get_by_label("Starts").evaluate("field => field === document.activeElement")
    page.get_by_role("status").filter(has_text="Session 4 added").wait_for()
    fourth.get_by_role("button", name="Remove session 4").click()
    assert page.get_by_role("group", name="Session 4").count() == 0
    assert page.locator("#id_slots-TOTAL_FORMS").input_value() == "3"
    journey.check()
    _no_sideways_scrolling(journey, 390, "showcase-form", shots)
    page.get_by_role("button", name="Publish").click()
    journey.check()
    showcase = Showcase.objects.get()
    starts = [timezone.localtime(slot.starts_at) for slot in showcase.slots.order_by("starts_at")]
    assert starts == [first, first + timedelta(days=1), first + timedelta(days=8)]

    # A visitor has a seat in the first session; the host moves it an hour later, to another room.
    slot = showcase.slots.earliest("starts_at")
    visit = VisitRequest.objects.create(
        slot=slot, requester=other_teacher, seats=1, status=RequestStatus.APPROVED, sequence=1
    )
    VisitSlot.objects.filter(pk=slot.pk).update(seats_taken=1)
    mail.outbox.clear()
    journey.goto(f"/showcases/{showcase.pk}/edit/")
    moved = first + timedelta(hours=1)
    session = page.get_by_role("group", name="Session 1")
    session.get_by_label("Starts").fill(_local(moved))
    session.get_by_label("Ends").fill(_local(moved + timedelta(hours=2)))
    session.get_by_label("Location").fill("Room 114")
    page.get_by_role("button", name="Save changes").click()
    journey.check()
    slot.refresh_from_db()
    assert (timezone.localtime(slot.starts_at), slot.location) == (moved, "Room 114")
    (message,) = [m for m in mail.outbox if m.to == [other_teacher.email]]
    assert "Where: Room 12 → Room 114" in message.body
    event = Calendar.from_ical(message.attachments[0][1]).walk("VEVENT")[0]
    assert (str(event["UID"]), event.decoded("SEQUENCE")) == (visit.ical_uid, 2)


def test_sessions_are_added_without_javascript_keeping_what_was_typed(browser, live_server, principal):
    context = browser.new_context(bypass_csp=True, locale="en-US", java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        # Without JavaScript axe-core cannot run: the same pages are scanned in the journey above.
        page.goto(live_server.url + "/accounts/login/")
        page.get_by_label("Username or e-mail").fill("principal")
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(live_server.url + "/showcases/new/")
        page.get_by_label("Title").fill("Number talks")
        first = (timezone.localtime() + timedelta(days=6)).replace(hour=9, minute=0, second=0, microsecond=0)
        _fill_session(page.get_by_role("group", name="Session 1"), first, seats="4", location="Room 12")
        page.get_by_role("button", name="Add another session").click()
        page.wait_for_load_state()
        assert page.url.endswith("#session-2")
        assert page.get_by_label("Title").input_value() == "Number talks"
        assert page.get_by_role("group", name="Session 1").get_by_label("Location").input_value() == "Room 12"
        assert page.get_by_role("group", name="Session 3").get_by_label("Location").input_value() == ""
        page.get_by_role("group", name="Session 1").get_by_role("button", name="Same time next week").click()
        page.wait_for_load_state()
        copy = page.get_by_role("group", name="Session 4")
        assert copy.get_by_label("Starts").input_value() == _local(first + timedelta(days=7))
        assert Showcase.objects.count() == 0
    finally:
        context.close()


def test_visitor_cancels_with_confirmation(journey, principal, other_teacher, tmp_path):
    page = journey.page
    page.set_viewport_size(PHONE)
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    slot = VisitSlotFactory(showcase__host=principal, showcase__title="Number talks", capacity=3, seats_taken=2)
    visit = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=2, status=RequestStatus.APPROVED)
    journey.sign_in("teacher2", TEST_PASSWORD)
    journey.goto("/showcases/visits/")
    page.get_by_role("link", name="Cancel my request for Number talks").click()
    journey.check()
    assert page.get_by_role("heading", name="Cancel your visit?").is_visible()
    assert "The host, Marcus Hughes, by e-mail" in page.get_by_role("main").inner_text()
    _no_sideways_scrolling(journey, 390, "cancel-visit", shots)
    visit.refresh_from_db()
    assert visit.status == RequestStatus.APPROVED  # nothing happens before the confirmation
    page.get_by_label("Reason (optional)").fill("Our testing week moved.")
    page.get_by_role("button", name="Cancel my request").click()
    journey.check()
    assert "Your request is cancelled" in page.get_by_role("status").inner_text()
    visit.refresh_from_db()
    assert visit.status == RequestStatus.CANCELLED
    host = next(m for m in mail.outbox if m.to == [principal.email])
    assert "Their reason: Our testing week moved." in host.body
    own = next(m for m in mail.outbox if m.to == [other_teacher.email])
    assert Calendar.from_ical(own.attachments[0][1])["METHOD"] == "CANCEL"


def test_host_and_leader_pages_for_sessions_read_on_a_phone(journey, principal, leader, other_teacher, tmp_path):
    """The confirmation pages and the principals' meeting page at 390 px, each scanned."""
    page = journey.page
    page.set_viewport_size(PHONE)
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    slot = VisitSlotFactory(showcase__host=principal, showcase__title="Number talks across the grades", capacity=6)
    VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status=RequestStatus.APPROVED)
    PrincipalFactory(
        first_name="Ada",
        last_name="Obi",
        school=SchoolFactory(name="Northwestern Collegiate Academy of Science and Mathematics"),
    )
    journey.sign_in("principal", TEST_PASSWORD)
    for name, path in [
        ("cancel-session", f"/showcases/sessions/{slot.pk}/cancel/"),
        ("cancel-showcase", f"/showcases/{slot.showcase_id}/cancel/"),
    ]:
        journey.goto(path)
        _no_sideways_scrolling(journey, 390, name, shots)
    journey.sign_out()
    journey.sign_in("leader", TEST_PASSWORD)
    journey.goto(f"/showcases/{slot.showcase_id}/")
    page.get_by_role("link", name="Hold as a principals' meeting").click()
    journey.check()
    _no_sideways_scrolling(journey, 390, "principals-meeting", shots)
    page.get_by_label("Ada Obi, Northwestern Collegiate Academy of Science and Mathematics (Elementary)").check()
    page.get_by_role("button", name="Seat them and send the invitations").click()
    journey.check()
    assert "1 principal seated" in page.get_by_role("status").inner_text()
    assert VisitRequest.objects.filter(slot=slot, invited=True).count() == 1
