"""Decisions on a visit request and seats from the waiting list are notices in the visitor's
list at /notifications/ (the visit e-mail itself stays the only e-mail), seen only while the
visitor may still see the visit."""

import pytest
from django.core import mail

from portal.notifications.models import Notification, NotificationKind
from showcases.models import RequestStatus
from showcases.services import (
    visit_request_approve,
    visit_request_cancel,
    visit_request_create,
    visit_request_decline,
)
from tests.factories import TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


def _notices(user):
    return list(Notification.objects.visible_to(user).order_by("pk").values_list("kind", "text", "url"))


def test_approval_and_decline_reach_the_visitors_list_without_a_second_email(
    principal, other_teacher, other_school, as_user, django_capture_on_commit_callbacks
):
    slot = VisitSlotFactory(showcase__host=principal, showcase__title="Reading circles", capacity=4)
    declined_teacher = TeacherFactory(school=other_school)
    with django_capture_on_commit_callbacks(execute=True):
        approved = visit_request_create(slot=slot, requester=other_teacher, seats=1)
        visit_request_approve(visit=approved)
        declined = visit_request_create(slot=slot, requester=declined_teacher, seats=1)
        visit_request_decline(visit=declined, note="Full with our own staff that day.")
    assert _notices(other_teacher) == [
        (NotificationKind.REQUEST_DECISION, "Your visit to “Reading circles” is confirmed", "/showcases/visits/")
    ]
    assert _notices(declined_teacher) == [
        (NotificationKind.REQUEST_DECISION, "Your visit request for “Reading circles”", "/showcases/visits/")
    ]
    # The host is told nothing in the list about their own decisions.
    assert _notices(principal) == []
    # One e-mail per decision: the visit e-mail (with its calendar file), no notice e-mail.
    to_visitor = [m for m in mail.outbox if m.to == [other_teacher.email]]
    assert len(to_visitor) == 1
    page = as_user(other_teacher).get("/notifications/").content.decode()
    assert "Reading circles" in page


def test_a_seat_from_the_waiting_list_is_a_promotion_notice(principal, other_teacher, other_school):
    slot = VisitSlotFactory(
        showcase__host=principal, showcase__title="Exit tickets", showcase__auto_approve=True, capacity=1
    )
    first = visit_request_create(slot=slot, requester=TeacherFactory(school=other_school), seats=1)
    waiting = visit_request_create(slot=slot, requester=other_teacher, seats=1)
    assert waiting.status == RequestStatus.WAITLISTED
    visit_request_cancel(visit=first)
    kinds = [kind for kind, _text, _url in _notices(other_teacher)]
    assert kinds == [NotificationKind.REQUEST_DECISION, NotificationKind.WAITLIST_PROMOTION]


def test_a_notice_about_a_visit_hides_once_the_visitor_may_no_longer_see_it(principal, other_teacher):
    slot = VisitSlotFactory(showcase__host=principal, capacity=2)
    visit = visit_request_create(slot=slot, requester=other_teacher, seats=1)
    visit_request_approve(visit=visit)
    assert len(_notices(other_teacher)) == 1
    # Someone else's visit: never in their list, even if a notice were written for them.
    stranger = TeacherFactory()
    Notification.objects.create(
        recipient=stranger,
        kind=NotificationKind.REQUEST_DECISION,
        text="x",
        url="/",
        about_type="showcases.visitrequest",
        about_id=visit.pk,
    )
    assert _notices(stranger) == []
