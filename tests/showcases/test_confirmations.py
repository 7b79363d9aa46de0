"""Nothing irreversible happens in one click: cancelling a session, a showcase or one's own
seats shows a page of its own first (what will happen, who will be told), and only the POST
from that page acts. A reason typed there goes into the e-mails. Without JavaScript too: the
pages are plain forms."""

import pytest
from django.core import mail
from icalendar import Calendar

from showcases.models import RequestStatus, ShowcaseStatus, VisitRequest, VisitSlot
from showcases.services import slot_cancel, visit_request_approve, visit_request_create
from tests.factories import ShowcaseFactory, TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def slot(principal):
    showcase = ShowcaseFactory(host=principal, title="Conferences")
    return VisitSlotFactory(showcase=showcase, capacity=4, location="Main office")


@pytest.fixture
def visit(slot, other_teacher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        visit = visit_request_approve(visit=visit_request_create(slot=slot, requester=other_teacher, seats=2))
    mail.outbox.clear()
    return visit


@pytest.mark.parametrize(
    ("address", "heading"),
    [
        ("/showcases/{showcase}/cancel/", "Cancel the whole showcase?"),
        ("/showcases/sessions/{slot}/cancel/", "Cancel this session?"),
    ],
)
def test_the_host_sees_what_will_happen_and_who_is_told_and_nothing_changes(
    as_user, principal, slot, visit, address, heading
):
    page = as_user(principal).get(address.format(showcase=slot.showcase_id, slot=slot.pk))
    assert page.status_code == 200
    text = page.content.decode()
    assert heading in text and "This cannot be undone." in text
    assert "Kenji Yamamoto, Riverside Middle School" in text
    assert "1 person gets an e-mail" in text
    assert 'name="reason"' in text and 'name="confirm" value="yes"' in text
    assert VisitSlot.objects.get().cancelled_at is None
    assert VisitRequest.objects.get().status == RequestStatus.APPROVED


def test_the_visitor_sees_that_the_host_is_told_and_their_seats_go_to_the_waiting_list(as_user, other_teacher, visit):
    page = as_user(other_teacher).get(f"/showcases/requests/{visit.pk}/cancel/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cancel your visit?" in text
    assert "Your seats go to the next person on the waiting list." in text
    assert "The host, Marcus Hughes, by e-mail" in text
    assert VisitRequest.objects.get().status == RequestStatus.APPROVED


@pytest.mark.parametrize(
    ("who", "address"),
    [
        ("principal", "/showcases/{showcase}/cancel/"),
        ("principal", "/showcases/sessions/{slot}/cancel/"),
        ("other_teacher", "/showcases/requests/{visit}/cancel/"),
    ],
)
def test_a_post_without_the_confirmation_shows_the_page_with_the_reason_kept(
    as_user, request, slot, visit, who, address
):
    path = address.format(showcase=slot.showcase_id, slot=slot.pk, visit=visit.pk)
    response = as_user(request.getfixturevalue(who)).post(path, {"reason": "Snow day"})
    assert response.status_code == 200
    assert "Snow day</textarea>" in response.content.decode()
    assert VisitRequest.objects.get().status == RequestStatus.APPROVED
    assert VisitSlot.objects.get().cancelled_at is None
    assert mail.outbox == []


def test_cancelling_a_session_tells_its_visitors_the_reason(
    as_user, principal, slot, visit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(principal).post(
            f"/showcases/sessions/{slot.pk}/cancel/", {"confirm": "yes", "reason": "The building is closed."}
        )
    assert response.status_code == 302 and response.url == slot.showcase.get_absolute_url()
    assert VisitSlot.objects.get().is_cancelled
    (message,) = mail.outbox
    assert message.to == [visit.requester.email]
    assert "Their reason: The building is closed." in message.body
    assert Calendar.from_ical(message.attachments[0][1])["METHOD"] == "CANCEL"


def test_cancelling_the_showcase_tells_everyone_with_a_request_the_reason(
    as_user, principal, slot, visit, other_school, django_capture_on_commit_callbacks
):
    later = VisitSlotFactory(showcase=slot.showcase)
    waiting = visit_request_create(slot=later, requester=TeacherFactory(school=other_school), seats=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(principal).post(
            f"/showcases/{slot.showcase_id}/cancel/", {"confirm": "yes", "reason": "Our pilot ended."}
        )
    assert response.status_code == 302
    slot.showcase.refresh_from_db()
    assert slot.showcase.status == ShowcaseStatus.CANCELLED
    told = {m.to[0]: m for m in mail.outbox if m.subject.startswith("Cancelled:")}
    assert set(told) == {visit.requester.email, waiting.requester.email}
    assert all("Their reason: Our pilot ended." in m.body for m in told.values())


def test_the_visitors_reason_reaches_the_host_and_the_calendar_gets_the_cancellation(
    as_user, other_teacher, slot, visit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(other_teacher).post(
            f"/showcases/requests/{visit.pk}/cancel/", {"confirm": "yes", "reason": "Testing week moved."}
        )
    assert response.status_code == 302 and response.url == "/showcases/visits/"
    assert VisitRequest.objects.get().status == RequestStatus.CANCELLED
    assert VisitSlot.objects.get().seats_taken == 0
    host = next(m for m in mail.outbox if m.to == [slot.showcase.host.email])
    assert "Their reason: Testing week moved." in host.body
    own = next(m for m in mail.outbox if m.to == [other_teacher.email])
    assert "with your reason: Testing week moved." in own.body
    assert Calendar.from_ical(own.attachments[0][1])["METHOD"] == "CANCEL"


def test_a_reason_too_long_is_an_error_next_to_the_field_and_nothing_changes(as_user, principal, slot, visit):
    response = as_user(principal).post(
        f"/showcases/sessions/{slot.pk}/cancel/", {"confirm": "yes", "reason": "x" * 1001}
    )
    assert response.status_code == 400
    assert 'id="id_reason_error"' in response.content.decode()
    assert not VisitSlot.objects.get().is_cancelled


def test_what_is_already_cancelled_is_said_so(as_user, principal, other_teacher, slot, visit):
    slot_cancel(slot=slot)
    response = as_user(principal).get(f"/showcases/sessions/{slot.pk}/cancel/", follow=True)
    assert "This session is already cancelled." in response.content.decode()
    response = as_user(other_teacher).get(f"/showcases/requests/{visit.pk}/cancel/", follow=True)
    assert "This request is no longer active" in response.content.decode()


def test_the_pages_link_to_the_confirmations_instead_of_cancelling_at_once(
    as_user, principal, other_teacher, slot, visit
):
    host_page = as_user(principal).get(f"/showcases/{slot.showcase_id}/").content.decode()
    assert f'href="/showcases/{slot.showcase_id}/cancel/"' in host_page
    assert f'href="/showcases/sessions/{slot.pk}/cancel/"' in host_page
    assert 'action="/showcases/sessions/' + str(slot.pk) + '/cancel/"' not in host_page
    for path in (f"/showcases/{slot.showcase_id}/", "/showcases/visits/"):
        page = as_user(other_teacher).get(path).content.decode()
        assert f'href="/showcases/requests/{visit.pk}/cancel/"' in page
        assert f'action="/showcases/requests/{visit.pk}/cancel/"' not in page


@pytest.mark.parametrize(
    ("who", "address", "queries"),
    [
        ("principal", "/showcases/{showcase}/cancel/", 6),
        ("principal", "/showcases/sessions/{slot}/cancel/", 5),
        ("other_teacher", "/showcases/requests/{visit}/cancel/", 3),
    ],
)
def test_confirmation_pages_do_not_grow_with_the_people_told(
    as_user, request, slot, visit, other_school, django_assert_max_num_queries, who, address, queries
):
    """Session and user; the showcase, session or visit with what it shows; the sessions to
    cancel; the people told with their schools, in one query; the host's count of requests
    waiting in the navigation: the same for one person told or seven."""
    for _ in range(6):
        visit_request_create(slot=slot, requester=TeacherFactory(school=other_school), seats=1)
    path = address.format(showcase=slot.showcase_id, slot=slot.pk, visit=visit.pk)
    client = as_user(request.getfixturevalue(who))
    client.get(path)
    with django_assert_max_num_queries(queries):
        assert client.get(path).status_code == 200
