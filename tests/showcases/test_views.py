"""Showcase pages, tried by every persona, a teacher of another school and an anonymous visitor."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from icalendar import Calendar

from portal.lib import pagination
from practices.models import Adoption
from showcases import views
from showcases.models import CalendarFeed, Showcase, VisitRequest
from showcases.services import reminders_send
from tests.factories import (
    PracticeFactory,
    PrincipalFactory,
    SchoolFactory,
    ShowcaseFactory,
    TeacherFactory,
    VisitSlotFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def slot(principal):
    return VisitSlotFactory(showcase__host=principal, capacity=3)


def _slot_form(start, end, capacity="5", location="Office"):
    return {
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "1",
        "slots-MAX_NUM_FORMS": "20",
        "slots-0-starts_at": start,
        "slots-0-ends_at": end,
        "slots-0-capacity": capacity,
        "slots-0-location": location,
    }


def _showcase_form(**extra):
    data = {
        "title": "Student-led conferences",
        "description": "Students lead.",
        "impact": "Attendance doubled.",
        "evidence": "Sign-in sheets.",
        "focus_question": "How do students talk about learning?",
        "action": "publish",
    }
    data.update(extra)
    return data


def _future(days=7, hour=9):
    return (timezone.localtime() + timedelta(days=days)).replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


def _titles(response):
    return [showcase.title for showcase in response.context["showcases"]]


def test_principal_hosts_a_showcase_with_a_session(as_user, principal):
    practice = PracticeFactory(author=principal, title="Our conferences")
    data = _showcase_form(practices=str(practice.pk)) | _slot_form(_future(), _future(hour=11))
    response = as_user(principal).post("/showcases/new/", data)
    assert response.status_code == 302
    showcase = Showcase.objects.get()
    assert (showcase.host, showcase.host_school, showcase.status) == (principal, principal.school, "published")
    assert list(showcase.practices.all()) == [practice]
    slot = showcase.slots.get()
    assert timezone.localtime(slot.starts_at).hour == 9 and slot.capacity == 5


def test_leader_hosts_a_principals_meeting_at_a_school(as_user, leader, school):
    data = _showcase_form(host_school=str(school.pk)) | _slot_form(_future(), _future(hour=11))
    assert as_user(leader).post("/showcases/new/", data).status_code == 302
    assert Showcase.objects.get().host_school == school


@pytest.mark.parametrize(
    ("slot_fields", "field", "message"),
    [
        ({"end": _future(hour=8)}, "ends_at", "The session must end after it starts."),
        ({"capacity": "0"}, "capacity", "A session needs at least one seat."),
        ({"start": _future(days=-2), "end": _future(days=-2, hour=11)}, "starts_at", "Choose a time in the future."),
    ],
)
def test_bad_sessions_get_an_error_next_to_the_field_and_keep_the_form(as_user, principal, slot_fields, field, message):
    data = _showcase_form() | _slot_form(
        slot_fields.get("start", _future()), slot_fields.get("end", _future(hour=11)), slot_fields.get("capacity", "5")
    )
    response = as_user(principal).post("/showcases/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_slots-0-{field}_error"' in page and message in page
    assert 'value="Student-led conferences"' in page
    assert not Showcase.objects.exists()


def test_party_larger_than_the_session_gets_an_error_next_to_the_field(as_user, other_teacher, slot):
    response = as_user(other_teacher).post(
        f"/showcases/sessions/{slot.pk}/request/",
        {f"slot{slot.pk}-seats": "4", f"slot{slot.pk}-message": "Team of four"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_slot{slot.pk}-seats_error"' in page and "your party of 4 is larger" in page
    assert "Team of four" in page
    assert not VisitRequest.objects.exists()


def test_request_to_a_past_session_is_refused_clearly(as_user, other_teacher, slot):
    slot.starts_at = timezone.now() - timedelta(days=1)
    slot.ends_at = slot.starts_at + timedelta(hours=2)
    slot.save()
    response = as_user(other_teacher).post(f"/showcases/sessions/{slot.pk}/request/", {f"slot{slot.pk}-seats": "1"})
    assert response.status_code == 400
    assert "already started" in response.content.decode()


def test_request_approve_and_waitlist_through_the_pages(
    as_user, principal, slot, other_school, django_capture_on_commit_callbacks
):
    visitors = [TeacherFactory(school=other_school) for _ in range(4)]
    for visitor in visitors:
        response = as_user(visitor).post(
            f"/showcases/sessions/{slot.pk}/request/", {f"slot{slot.pk}-seats": "1", f"slot{slot.pk}-message": "Keen"}
        )
        assert response.status_code == 302
    host = as_user(principal)
    page = host.get(f"/showcases/{slot.showcase.pk}/").content.decode()
    assert page.count('action="/showcases/requests/') >= 8
    with django_capture_on_commit_callbacks(execute=True):
        for visit in VisitRequest.objects.order_by("pk"):
            host.post(f"/showcases/requests/{visit.pk}/approve/")
    assert list(VisitRequest.objects.order_by("pk").values_list("status", flat=True)) == ["approved"] * 3 + [
        "waitlisted"
    ]
    assert sum("confirmed" in m.subject for m in mail.outbox) == 3


@pytest.mark.parametrize("name", ["teacher", "leader", "other_teacher"])
def test_draft_showcases_are_404_to_others(as_user, request, principal, name):
    draft = ShowcaseFactory(host=principal, status="draft")
    assert as_user(request.getfixturevalue(name)).get(f"/showcases/{draft.pk}/").status_code == 404


def test_another_visitors_request_is_404(as_user, slot, other_teacher, other_school):
    visit = VisitRequest.objects.create(
        slot=slot, requester=TeacherFactory(school=other_school), seats=1, status="approved"
    )
    client = as_user(other_teacher)
    assert client.get(f"/showcases/requests/{visit.pk}/calendar.ics").status_code == 404
    assert client.post(f"/showcases/requests/{visit.pk}/cancel/").status_code == 404


def test_list_filters_by_school_date_and_seats(as_user, other_teacher, principal, other_school):
    full = VisitSlotFactory(showcase__host=principal, showcase__title="Full one", capacity=1)
    full.seats_taken = 1
    full.save()
    VisitSlotFactory(
        showcase__host=principal, showcase__title="Open one", capacity=5, starts_at=timezone.now() + timedelta(days=40)
    )
    client = as_user(other_teacher)
    assert _titles(client.get("/showcases/", {"seats_left": "on"})) == ["Open one"]
    assert _titles(client.get("/showcases/", {"date_to": (timezone.localdate() + timedelta(days=10)).isoformat()})) == [
        "Full one"
    ]
    assert _titles(client.get("/showcases/", {"school": other_school.slug})) == []


def test_list_finds_a_school_by_part_of_its_name_without_listing_every_school(
    as_user, other_teacher, principal, other_school
):
    VisitSlotFactory(showcase__host=principal, showcase__title="At Maple Grove")
    for number in range(3):
        SchoolFactory(name=f"Quiet Hollow {number}")
    client = as_user(other_teacher)
    page = client.get("/showcases/").content.decode()
    # The panel asks for a name; it draws no option per school.
    assert "Quiet Hollow" not in page
    assert 'id="id_school_helptext"' in page
    assert _titles(client.get("/showcases/", {"school": "maple"})) == ["At Maple Grove"]
    assert _titles(client.get("/showcases/", {"school": "  GROVE "})) == ["At Maple Grove"]
    assert _titles(client.get("/showcases/", {"school": "maple-grove"})) == ["At Maple Grove"]
    assert _titles(client.get("/showcases/", {"school": "Riverside"})) == []
    assert 'value="GROVE"' in client.get("/showcases/", {"school": "GROVE"}).content.decode()


def test_a_schools_own_slug_means_that_school_alone(as_user, other_teacher):
    """Old links carry the select's values (slugs): one names its school, not every school whose
    name holds the same letters."""
    lincoln = PrincipalFactory(school=SchoolFactory(name="Lincoln", slug="lincoln"))
    VisitSlotFactory(showcase__host=lincoln, showcase__title="At Lincoln")
    high = PrincipalFactory(school=SchoolFactory(name="Lincoln High", slug="lincoln-high"))
    VisitSlotFactory(showcase__host=high, showcase__title="At Lincoln High")
    client = as_user(other_teacher)
    assert _titles(client.get("/showcases/", {"school": "lincoln"})) == ["At Lincoln"]
    assert sorted(_titles(client.get("/showcases/", {"school": "Lincol"}))) == ["At Lincoln", "At Lincoln High"]


def test_dates_and_seats_must_hold_for_the_same_session(as_user, other_teacher, principal):
    soon = VisitSlotFactory(showcase__host=principal, showcase__title="Split", capacity=1)
    soon.seats_taken = 1
    soon.save()
    VisitSlotFactory(showcase=soon.showcase, capacity=5, starts_at=timezone.now() + timedelta(days=40))
    client = as_user(other_teacher)
    within = (timezone.localdate() + timedelta(days=10)).isoformat()
    # The session within ten days is full, and the one with seats is later: no match.
    assert _titles(client.get("/showcases/", {"date_to": within, "seats_left": "on"})) == []
    assert _titles(client.get("/showcases/", {"date_to": within})) == ["Split"]
    assert _titles(client.get("/showcases/", {"seats_left": "on"})) == ["Split"]


def test_month_calendar_shows_sessions_on_their_day(as_user, teacher, slot):
    month = timezone.localtime(slot.starts_at).strftime("%Y-%m")
    page = as_user(teacher).get("/showcases/calendar/", {"month": month}).content.decode()
    assert slot.showcase.title in page
    assert "<caption>Showcase sessions in" in page


def test_calendar_file_and_personal_feed(as_user, client, other_teacher, principal, slot):
    visit = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status="approved", sequence=1)
    visitor = as_user(other_teacher)
    ics = visitor.get(f"/showcases/requests/{visit.pk}/calendar.ics")
    assert ics["Content-Type"].startswith("text/calendar")
    assert Calendar.from_ical(ics.content).walk("VEVENT")[0]["UID"] == visit.ical_uid
    assert "Make my calendar address" in visitor.get("/showcases/visits/").content.decode()
    assert not CalendarFeed.objects.exists()  # nothing is made on a GET
    visitor.post("/showcases/calendar/reset/")
    token = CalendarFeed.objects.get(user=other_teacher).token
    assert token in visitor.get("/showcases/visits/").content.decode()
    client.logout()
    feed = client.get("/showcases/calendar.ics", {"token": token})
    assert feed.status_code == 200
    assert [str(e["UID"]) for e in Calendar.from_ical(feed.content).walk("VEVENT")] == [visit.ical_uid]
    assert client.get("/showcases/calendar.ics", {"token": "wrong"}).status_code == 404
    assert client.get("/showcases/calendar.ics").status_code == 404
    as_user(other_teacher).post("/showcases/calendar/reset/")
    client.logout()
    assert client.get("/showcases/calendar.ics", {"token": token}).status_code == 404


def test_host_feed_lists_the_sessions_they_host(client, principal, slot):
    feed = CalendarFeed.objects.create(user=principal)
    events = Calendar.from_ical(client.get("/showcases/calendar.ics", {"token": feed.token}).content).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [slot.ical_uid]


def test_reminders_are_sent_once_the_day_before(principal, other_teacher):
    tomorrow = timezone.now() + timedelta(days=1)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=tomorrow, ends_at=tomorrow + timedelta(hours=2))
    VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status="approved")
    later = VisitSlotFactory(showcase=slot.showcase)
    VisitRequest.objects.create(slot=later, requester=other_teacher, seats=1, status="approved")
    call_command("send_visit_reminders")
    call_command("send_visit_reminders")
    reminders = [m for m in mail.outbox if m.subject.startswith("Tomorrow")]
    assert len(reminders) == 1 and reminders[0].to == [other_teacher.email]


def test_debrief_invitations_after_the_visit_are_sent_once(principal, other_teacher):
    past = timezone.now() - timedelta(hours=3)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2))
    VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status="approved")
    assert reminders_send() == (0, 1)
    assert reminders_send() == (0, 0)
    assert "/reflect/" in mail.outbox[0].body


def test_debrief_host_notes_and_visitor_reflection_with_adoption(as_user, principal, other_teacher, other_school):
    past = timezone.now() - timedelta(hours=3)
    practice = PracticeFactory(author=principal, title="Conferences")
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2))
    slot.showcase.practices.add(practice)
    visit = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status="approved")
    host = as_user(principal)
    assert (
        host.post(f"/showcases/sessions/{slot.pk}/debrief/", {"debrief_notes": "Students led well."}).status_code == 302
    )
    visitor = as_user(other_teacher)
    response = visitor.post(
        f"/showcases/requests/{visit.pk}/reflect/",
        {
            "noticed": "Students named their goals.",
            "will_try": "Goal cards.",
            "practice": str(practice.pk),
            "trying": "on",
        },
    )
    assert response.status_code == 302
    adoption = Adoption.objects.get()
    assert (adoption.practice, adoption.user, adoption.status) == (practice, other_teacher, "trying")
    page = visitor.get(f"/showcases/sessions/{slot.pk}/debrief/").content.decode()
    assert "Students led well." in page and "Students named their goals." in page
    outsider = as_user(TeacherFactory(school=other_school))
    assert outsider.get(f"/showcases/sessions/{slot.pk}/debrief/").status_code == 404


def test_reflection_needs_a_past_approved_visit(as_user, slot, other_teacher):
    visit = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status="approved")
    response = as_user(other_teacher).get(f"/showcases/requests/{visit.pk}/reflect/")
    assert response.status_code == 302


def test_cancelling_a_request_from_my_visits(as_user, other_teacher, slot):
    visit = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status="approved")
    slot.seats_taken = 1
    slot.save()
    assert as_user(other_teacher).post(f"/showcases/requests/{visit.pk}/cancel/", {"confirm": "yes"}).status_code == 302
    slot.refresh_from_db()
    assert slot.seats_taken == 0


def test_anonymous_visitors_are_sent_to_sign_in(client, slot):
    for path in ["/showcases/", f"/showcases/{slot.showcase.pk}/", "/showcases/visits/"]:
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("month", ["99999999999999999999-01", "2026-99999999999999999999", "²-1"])
def test_a_month_no_calendar_holds_shows_this_month_with_a_message(as_user, teacher, month):
    response = as_user(teacher).get("/showcases/calendar/", {"month": month})
    assert response.status_code == 200
    assert "Choose a month as YYYY-MM" in response.content.decode()


def test_list_orders_showcases_by_their_next_session_to_come(as_user, other_teacher, principal):
    now = timezone.now()
    VisitSlotFactory(showcase__host=principal, showcase__title="Later", starts_at=now + timedelta(days=20))
    # A cancelled session and one already held do not count: their showcases' next sessions are later.
    cancelled = VisitSlotFactory(
        showcase__host=principal, showcase__title="Cancelled first", starts_at=now + timedelta(days=1)
    )
    VisitSlotFactory(showcase=cancelled.showcase, starts_at=now + timedelta(days=30))
    cancelled.cancelled_at = now
    cancelled.save()
    held = VisitSlotFactory(showcase__host=principal, showcase__title="Held before", starts_at=now - timedelta(days=3))
    VisitSlotFactory(showcase=held.showcase, starts_at=now + timedelta(days=10))
    # Only sessions held or cancelled: not listed.
    VisitSlotFactory(showcase__host=principal, showcase__title="Nothing to come", starts_at=now - timedelta(days=1))
    response = as_user(other_teacher).get("/showcases/")
    assert _titles(response) == ["Held before", "Later", "Cancelled first"]
    assert "3 upcoming showcases" in response.content.decode()


def test_the_list_filters_find_renamed_schools_and_keep_what_was_typed(as_user, other_teacher, principal, school):
    VisitSlotFactory(showcase__host=principal, showcase__title="Conferences")
    client = as_user(other_teacher)
    assert _titles(client.get("/showcases/", {"school": "Academy"})) == []
    school.name = "Maple Grove Academy"
    school.save()
    assert _titles(client.get("/showcases/", {"school": "Academy"})) == ["Conferences"]
    # A date that cannot be read comes back with its error; the same filters without it do not.
    typed = client.get("/showcases/", {"date_from": "2026-13-45", "tag": "reading"}).content.decode()
    assert 'value="reading"' in typed
    assert 'class="errorlist"' in typed
    assert 'class="errorlist"' not in client.get("/showcases/", {"tag": "reading"}).content.decode()
    assert "Clear all" in typed
    assert "Clear all" not in client.get("/showcases/").content.decode()


def test_a_long_list_says_more_than_a_thousand_and_pages_by_next_session(
    as_user, other_teacher, principal, monkeypatch
):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    now = timezone.now()
    for days in [5, 1, 4, 2, 3]:
        VisitSlotFactory(
            showcase__host=principal, showcase__title=f"In {days} days", starts_at=now + timedelta(days=days)
        )
    client = as_user(other_teacher)
    first = client.get("/showcases/")
    assert _titles(first) == ["In 1 days", "In 2 days"]
    assert "More than 1,000 upcoming showcases" in first.content.decode()
    assert _titles(client.get("/showcases/", {"page": "2"})) == ["In 3 days", "In 4 days"]


def test_the_list_s_cards_are_kept_until_what_they_show_changes(
    as_user, other_teacher, principal, school, settings, monkeypatch
):
    settings.KEPT_PAGES = False  # the page itself is drawn each time: its cards are what is kept
    slot = VisitSlotFactory(showcase__host=principal, showcase__title="Kept card", capacity=3)
    client = as_user(other_teacher)
    assert "3 of 3 seats left" in client.get("/showcases/").content.decode()
    drawn = []
    draw = views.render_to_string

    def drawing(name, context):
        drawn.append(name)
        return draw(name, context)

    monkeypatch.setattr(views, "render_to_string", drawing)
    assert "Kept card" in client.get("/showcases/").content.decode()
    assert drawn == []
    slot.seats_taken = 1
    slot.save()
    school.name = "Maple Grove Academy"
    school.save()
    page = client.get("/showcases/").content.decode()
    assert "2 of 3 seats left" in page and "Maple Grove Academy" in page
    assert drawn == [views.CARD_TEMPLATE]
