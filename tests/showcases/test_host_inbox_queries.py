"""The host's inbox asks for the requests to decide only when one of its sessions has one pending."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from showcases.inbox import host_inbox
from showcases.models import RequestStatus, ShowcaseStatus, VisitRequest
from tests.factories import TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


def _inbox_and_queries(host):
    with CaptureQueriesContext(connection) as captured:
        inbox = host_inbox(host)
    return inbox, len(captured)


def test_without_a_pending_request_the_inbox_is_one_query(principal, other_school):
    slot = VisitSlotFactory(showcase__host=principal)
    VisitRequest.objects.create(
        slot=slot, requester=TeacherFactory(school=other_school), seats=1, status=RequestStatus.APPROVED
    )
    inbox, queries = _inbox_and_queries(principal)
    assert queries == 1
    assert inbox.upcoming == [slot] and inbox.pending == [] and inbox.pending_count == 0


def test_a_pending_request_is_asked_for_and_listed(principal, other_school):
    slot = VisitSlotFactory(showcase__host=principal)
    waiting = VisitRequest.objects.create(slot=slot, requester=TeacherFactory(school=other_school), seats=1)
    inbox, queries = _inbox_and_queries(principal)
    assert queries == 2
    assert inbox.pending == [waiting] and inbox.pending_count == 1


def test_a_pending_request_that_awaits_nobody_is_still_not_listed(principal, other_school):
    """A request pending for a draft showcase's session makes the inbox ask, and find none."""
    slot = VisitSlotFactory(showcase__host=principal, showcase__status=ShowcaseStatus.DRAFT)
    VisitRequest.objects.create(slot=slot, requester=TeacherFactory(school=other_school), seats=1)
    inbox, queries = _inbox_and_queries(principal)
    assert queries == 2
    assert inbox.pending == [] and inbox.pending_count == 0


def test_home_of_a_host_without_pending_requests_runs_one_query_fewer(as_user, principal, other_school):
    slot = VisitSlotFactory(showcase__host=principal)
    client = as_user(principal)
    client.get("/")
    with CaptureQueriesContext(connection) as without:
        page = client.get("/").content.decode()
    assert "No requests are waiting for your decision." in page
    VisitRequest.objects.create(slot=slot, requester=TeacherFactory(school=other_school, first_name="Ana"), seats=1)
    with CaptureQueriesContext(connection) as with_one:
        page = client.get("/").content.decode()
    assert "Ana" in page
    assert len(without) == len(with_one) - 1
