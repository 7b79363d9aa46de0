"""The host's inbox on the home page and on "Sessions I host", and the navigation's badge."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from showcases.inbox import host_inbox
from showcases.models import RequestStatus, ShowcaseStatus, VisitRequest
from tests.factories import PrincipalFactory, TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def slot(principal):
    return VisitSlotFactory(showcase__host=principal, showcase__title="Student-led conferences", capacity=4)


def _request(slot, requester, **fields):
    return VisitRequest.objects.create(slot=slot, requester=requester, seats=1, **fields)


def _past_slot(principal, **fields):
    past = timezone.now() - timedelta(days=2)
    return VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2), **fields)


# -- What awaits a host


def test_awaiting_decision_counts_pending_requests_for_open_sessions_the_host_runs(
    principal, school, slot, other_teacher, other_school
):
    waiting = _request(slot, other_teacher, message="How do you start?")
    _request(slot, TeacherFactory(school=other_school), status=RequestStatus.APPROVED)
    _request(slot, TeacherFactory(school=other_school), status=RequestStatus.WAITLISTED)
    _request(_past_slot(principal), TeacherFactory(school=other_school))
    _request(VisitSlotFactory(showcase__host=principal, cancelled_at=timezone.now()), other_teacher)
    _request(VisitSlotFactory(showcase__host=principal, showcase__status=ShowcaseStatus.DRAFT), other_teacher)
    _request(VisitSlotFactory(), other_teacher)  # another school's showcase
    assert list(VisitRequest.objects.awaiting_decision_by(principal)) == [waiting]
    # The school's other principal runs its showcases too; a teacher hosts nothing.
    assert list(VisitRequest.objects.awaiting_decision_by(PrincipalFactory(school=school))) == [waiting]
    assert not VisitRequest.objects.awaiting_decision_by(other_teacher).exists()


def test_inbox_keeps_sessions_to_come_apart_from_debriefs_to_write(principal, slot):
    done = _past_slot(principal)
    written = _past_slot(principal)
    written.debriefed_at = timezone.now()
    written.save()
    long_ago = timezone.now() - timedelta(days=200)
    VisitSlotFactory(showcase__host=principal, starts_at=long_ago, ends_at=long_ago + timedelta(hours=1))
    inbox = host_inbox(principal)
    assert inbox.upcoming == [slot]
    assert inbox.to_debrief == [done]


def test_inbox_is_cut_to_the_limit_and_says_there_is_more(principal, other_school):
    for _ in range(3):
        _request(VisitSlotFactory(showcase__host=principal), TeacherFactory(school=other_school))
    inbox = host_inbox(principal, limit=2)
    assert len(inbox.pending) == 2 and inbox.more_pending and inbox.pending_count == 3
    assert len(inbox.upcoming) == 2 and inbox.more_upcoming


# -- The home page


def test_principal_decides_from_the_home_page_with_a_note_per_decision(as_user, principal, slot, other_teacher):
    visit = _request(slot, other_teacher, message="How do you start?")
    refused = _request(slot, TeacherFactory(school=other_teacher.school, first_name="Ana", last_name="Lima"))
    host = as_user(principal)
    page = host.get("/").content.decode()
    assert "Requests awaiting you" in page and "How do you start?" in page
    # Each decision has its own note field, labelled with whose request it answers.
    for decision in ("approve", "decline"):
        assert f'for="{decision}-note-{visit.pk}"' in page and f'id="{decision}-note-{visit.pk}"' in page
    assert 'Note with the approval<span class="visually-hidden"> to Kenji Yamamoto</span>' in page
    assert 'Reason for declining<span class="visually-hidden"> Kenji Yamamoto\'s request</span>' in page

    response = host.post(f"/showcases/requests/{visit.pk}/approve/", {"note": "Park at the back.", "back": "home"})
    assert response.status_code == 302 and response.url == "/"
    visit.refresh_from_db()
    assert visit.status == RequestStatus.APPROVED and visit.host_note == "Park at the back."
    response = host.post(f"/showcases/requests/{refused.pk}/decline/", {"note": "Full.", "back": "hosting"})
    assert response.url == "/showcases/hosting/"
    refused.refresh_from_db()
    assert refused.status == RequestStatus.DECLINED and refused.host_note == "Full."


def test_a_decision_never_returns_to_an_address_the_form_names(as_user, principal, slot, other_teacher):
    visit = _request(slot, other_teacher)
    response = as_user(principal).post(
        f"/showcases/requests/{visit.pk}/approve/", {"back": "https://elsewhere.example/"}
    )
    assert response.url == slot.showcase.get_absolute_url()


def test_home_shows_sessions_to_come_with_seats_taken_and_debriefs_to_write(as_user, principal, slot, other_school):
    _request(slot, TeacherFactory(school=other_school), status=RequestStatus.APPROVED)
    slot.seats_taken = 1
    slot.save()
    done = _past_slot(principal, showcase__title="Reading buddies")
    page = as_user(principal).get("/").content.decode()
    assert "Sessions coming up" in page and "1 of 4</strong> seats taken" in page
    assert "Debriefs to write" in page and f"/showcases/sessions/{done.pk}/debrief/" in page


@pytest.mark.parametrize("reader", ["teacher", "staff", "other_teacher"])
def test_people_who_cannot_host_see_no_inbox_and_no_badge(as_user, request, slot, other_teacher, reader):
    _request(slot, TeacherFactory(school=other_teacher.school))
    page = as_user(request.getfixturevalue(reader)).get("/").content.decode()
    assert "Requests awaiting you" not in page and "nav-badge" not in page


def test_home_with_its_inbox_runs_the_same_queries_whatever_the_rows(as_user, principal, other_school):
    """Session, user, the home page's own figures, and the inbox's two queries (requests, and
    sessions with their counts), which give the badge too: none per request or session."""

    def count() -> int:
        client = as_user(principal)
        client.get("/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        return len(queries)

    _request(VisitSlotFactory(showcase__host=principal), TeacherFactory(school=other_school))
    few = count()
    for _ in range(4):
        slot = VisitSlotFactory(showcase__host=principal)
        _request(slot, TeacherFactory(school=other_school))
        _request(slot, TeacherFactory(school=other_school), status=RequestStatus.APPROVED)
        _past_slot(principal)
    assert count() == few
    assert few <= 12


# -- The navigation's badge


def test_badge_counts_the_requests_awaiting_the_host_with_accessible_text(as_user, principal, slot, other_school):
    for _ in range(3):
        _request(slot, TeacherFactory(school=other_school))
    page = as_user(principal).get("/practices/").content.decode()
    badge = re.search(r'<a href="/showcases/hosting/"[^>]*>(.*?)</a>', page, re.S)
    assert badge is not None
    spoken = re.sub(r"<[^>]+>", "", badge.group(1))
    assert spoken == "Requests 3 awaiting you"
    assert '<span class="nav-badge">3</span>' in badge.group(1)


def test_no_badge_when_nothing_awaits(as_user, principal, slot):
    assert "nav-badge" not in as_user(principal).get("/practices/").content.decode()


def test_badge_costs_one_query_on_other_pages_and_none_on_the_inbox_pages(as_user, principal, slot, other_teacher):
    _request(slot, other_teacher)
    client = as_user(principal)

    def badge_queries(path: str) -> int:
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        return sum(query["sql"].startswith("SELECT COUNT(*)") and "'pending'" in query["sql"] for query in queries)

    assert badge_queries("/practices/") == 1
    assert badge_queries("/") == 0
    assert badge_queries("/showcases/hosting/") == 0


# -- "Sessions I host"


def test_hosting_page_lists_requests_sessions_to_come_and_past_sessions_apart(
    as_user, principal, slot, other_teacher, other_school
):
    visit = _request(slot, other_teacher)
    past = _past_slot(principal, showcase__title="Reading buddies")
    _request(past, TeacherFactory(school=other_school), status=RequestStatus.APPROVED)
    page = as_user(principal).get("/showcases/hosting/").content.decode()
    assert f'action="/showcases/requests/{visit.pk}/approve/"' in page
    assert '<input type="hidden" name="back" value="hosting">' in page
    upcoming = page.split('id="inbox-upcoming-heading"')[1].split("</section>")[0]
    past_part = page.split('id="past-heading"')[1]
    assert "Student-led conferences" in upcoming and "Reading buddies" not in upcoming
    assert "Reading buddies" in past_part and "Student-led conferences" not in past_part
    assert "not checked in" in past_part


def test_hosting_page_runs_the_same_queries_whatever_the_rows(as_user, principal, other_school):
    """Session, user, the inbox's two queries, today's sessions and their visitors, and a page
    of past sessions with its count: none per session or request."""

    def count() -> int:
        client = as_user(principal)
        client.get("/showcases/hosting/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/showcases/hosting/").status_code == 200
        return len(queries)

    def add_rows():
        now = timezone.now()
        today = VisitSlotFactory(showcase__host=principal, starts_at=now, ends_at=now + timedelta(hours=1))
        for slot in (today, VisitSlotFactory(showcase__host=principal), _past_slot(principal)):
            _request(slot, TeacherFactory(school=other_school))
            _request(slot, TeacherFactory(school=other_school), status=RequestStatus.APPROVED)

    add_rows()
    few = count()
    for _ in range(3):
        add_rows()
    assert count() == few
    assert few <= 10
