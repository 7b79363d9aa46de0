"""Showcase pages run a fixed number of queries, whatever the number of showcases, sessions and requests."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from showcases.models import VisitRequest
from tests.factories import SchoolFactory, TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _drawn(settings):
    """The pages as drawn: a page asked for again is otherwise served as kept (portal.lib.kept_pages)."""
    settings.KEPT_PAGES = False


def _count(client, path: str) -> int:
    client.get("/healthz")
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def _populate(principal, other_school, count):
    for _ in range(count):
        slot = VisitSlotFactory(showcase__host=principal, capacity=10)
        VisitSlotFactory(showcase=slot.showcase)
        for _ in range(3):
            VisitRequest.objects.create(slot=slot, requester=TeacherFactory(school=other_school), seats=1)


@pytest.mark.parametrize("path", ["/showcases/", "/showcases/calendar/", "/showcases/visits/", "/showcases/hosting/"])
def test_lists_do_not_grow_with_showcases(as_user, principal, other_school, path):
    """Session, user, the page (and its count), sessions prefetched, filter choices."""
    client = as_user(principal)
    _populate(principal, other_school, 2)
    few = _count(client, path)
    _populate(principal, other_school, 6)
    assert _count(client, path) == few
    assert few <= 10


def test_detail_does_not_grow_with_sessions_and_requests(as_user, principal, other_school):
    slot = VisitSlotFactory(showcase__host=principal)
    client = as_user(principal)
    few = _count(client, f"/showcases/{slot.showcase.pk}/")
    for _ in range(4):
        extra = VisitSlotFactory(showcase=slot.showcase)
        for _ in range(3):
            VisitRequest.objects.create(slot=extra, requester=TeacherFactory(school=other_school), seats=1)
    assert _count(client, f"/showcases/{slot.showcase.pk}/") == few
    assert few <= 10


def test_the_list_s_queries_are_pinned_whatever_the_schools(as_user, teacher, principal, other_school):
    """Session, user, the filters' subjects and grade bands, the count, the page, its sessions:
    the schools are not read (a school is typed, not picked from a list of every one)."""
    client = as_user(teacher)
    _populate(principal, other_school, 2)
    assert _count(client, "/showcases/") == 6
    SchoolFactory.create_batch(30)
    _populate(principal, other_school, 25)
    assert _count(client, "/showcases/") == 6
    assert _count(client, "/showcases/?school=maple&page=2") == 6
