"""Pages run a fixed number of queries, whatever the number of practices and their parts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from practices.models import Facet, Practice
from tests.factories import FailureFactory, IterationFactory, PracticeFactory, TeacherFactory
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pages_drawn(settings):
    """The queries of pages as drawn: a page served as kept for its reader runs none of them
    (tests/portal/test_kept_pages.py)."""
    settings.KEPT_PAGES = False


def _populate(school, other_school, count: int) -> None:
    facets = list(Facet.objects.all()[:4])
    for n in range(count):
        author = TeacherFactory(school=school if n % 2 else other_school)
        practice = PracticeFactory(author=author, title=f"Practice about fractions {n}")
        IterationFactory.create_batch(3, practice=practice)
        FailureFactory.create_batch(2, practice=practice)
        practice.tags.set([f"tag{n}", "fractions"])
        practice.facets.set(facets)
        practice.adoptions.create(user=TeacherFactory(school=school), school=school)


def _count(client, path: str) -> int:
    # The first request of a session writes its activity stamp; measure the steady state.
    client.get("/healthz")
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "path", ["/practices/", "/practices/?q=fractions", "/practices/?sort=like_mine&has_failures=on&subject=mathematics"]
)
def test_list_and_search_queries_do_not_grow_with_practices(as_user, teacher, school, other_school, path):
    """Session, user, the page and its count, tags and facets prefetched, the filter choices (no
    list of schools: a school is typed): fixed."""
    client = as_user(teacher)
    _populate(school, other_school, 3)
    few = _count(client, path)
    _populate(school, other_school, 12)
    many = _count(client, path)
    assert few == many
    assert many <= 9


def test_detail_queries_do_not_grow_with_iterations_failures_tags_or_adaptations(
    as_user, teacher, other_teacher, school
):
    """One query per kind of part (facets, tags, iterations, failures, files, adoptions with their
    timelines, answered questions, lineage)."""
    client = as_user(teacher)
    practice = PracticeFactory(author=teacher)
    IterationFactory(practice=practice)
    few = _count(client, f"/practices/{practice.pk}/")
    IterationFactory.create_batch(8, practice=practice)
    FailureFactory.create_batch(6, practice=practice)
    practice.tags.set([f"t{n}" for n in range(8)])
    practice.facets.set(Facet.objects.all())
    for n in range(5):
        adopter = TeacherFactory(school=school)
        practice.adoptions.create(user=adopter, school=school)
        PracticeFactory(author=other_teacher, adapted_from=practice, lineage_root=practice, title=f"Adaptation {n}")
    many = _count(client, f"/practices/{practice.pk}/")
    assert few == many
    assert many <= 11


def test_history_queries_do_not_grow_with_versions(as_user, teacher):
    client = as_user(teacher)
    client.post("/practices/new/", practice_post())

    practice = Practice.objects.get()
    few = _count(client, f"/practices/{practice.pk}/history/")
    for n in range(5):
        client.post(f"/practices/{practice.pk}/edit/", practice_post(title=f"Exit tickets v{n}"))
    many = _count(client, f"/practices/{practice.pk}/history/")
    assert few == many
    assert many <= 5
