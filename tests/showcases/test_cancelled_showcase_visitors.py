"""Visitors of a showcase its host cancels keep what they were sent: the cancellation notice in
their list, the showcase page their e-mails link to, and, for a session that took place before
the cancellation, the reflection and debrief their reminders ask for. Others still get 404."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.notifications.models import Notification, NotificationKind
from showcases.models import RequestStatus, VisitRequest
from showcases.services import showcase_cancel, visit_request_approve, visit_request_create
from tests.factories import TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cancelled(principal, other_teacher, other_school):
    """A showcase with a session that took place (the visitor came) and one to come (they hold a
    seat), then cancelled by its host."""
    upcoming = VisitSlotFactory(showcase__host=principal, showcase__title="Reading circles", capacity=3)
    showcase = upcoming.showcase
    held = VisitSlotFactory(
        showcase=showcase,
        starts_at=timezone.now() - timedelta(days=4),
        ends_at=timezone.now() - timedelta(days=4, hours=-2),
    )
    took_place = VisitRequest.objects.create(
        slot=held, requester=other_teacher, seats=1, status=RequestStatus.APPROVED, sequence=1
    )
    held.seats_taken = 1
    held.save()
    coming = visit_request_create(slot=upcoming, requester=other_teacher, seats=1)
    visit_request_approve(visit=coming)
    showcase_cancel(showcase=showcase, reason="Our building is closed for repairs.")
    return showcase, took_place, coming


def test_the_cancellation_notice_stays_in_the_visitors_list(cancelled, other_teacher, as_user):
    texts = list(Notification.objects.visible_to(other_teacher).values_list("kind", "text"))
    assert (NotificationKind.REQUEST_DECISION, "Cancelled: your visit to “Reading circles”") in texts
    assert "Cancelled: your visit to" in as_user(other_teacher).get("/notifications/").content.decode()


def test_the_visitor_opens_the_cancelled_showcase_their_emails_link_to(cancelled, other_teacher, as_user):
    showcase, _took_place, coming = cancelled
    client = as_user(other_teacher)
    page = client.get(showcase.get_absolute_url())
    assert page.status_code == 200
    assert "Reading circles" in page.content.decode()
    ics = client.get(f"/showcases/requests/{coming.pk}/calendar.ics").content.decode()
    assert "METHOD:CANCEL" in ics


def test_the_visitor_of_a_session_held_before_the_cancellation_reflects_and_reads_its_debrief(
    cancelled, other_teacher, as_user
):
    _showcase, took_place, _coming = cancelled
    client = as_user(other_teacher)
    my_visits = client.get("/showcases/visits/").content.decode()
    assert f"/showcases/requests/{took_place.pk}/reflect/" in my_visits
    assert client.get(f"/showcases/requests/{took_place.pk}/reflect/").status_code == 200
    assert client.get(f"/showcases/sessions/{took_place.slot_id}/debrief/").status_code == 200


def test_colleagues_who_never_asked_to_visit_still_get_404(cancelled, other_school, teacher, as_user):
    showcase, took_place, _coming = cancelled
    for person in (TeacherFactory(school=other_school), teacher):
        client = as_user(person)
        assert client.get(showcase.get_absolute_url()).status_code == 404
        assert client.get(f"/showcases/sessions/{took_place.slot_id}/debrief/").status_code == 404
