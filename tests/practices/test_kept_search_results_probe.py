"""Edges of a search's kept ranked results (portal/lib/kept_results.py, PracticeFilter.ranked_ids):
searches whose words leave nothing to search for, and writes that have nothing to do with what a
search ranks."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.lib.kept_pages import pages_changed
from tests.factories import PracticeFactory, TeacherFactory

pytestmark = pytest.mark.django_db(transaction=True)

SORTS = ["relevance", "newest", "most_adapted", "like_mine"]


@pytest.fixture(autouse=True)
def _kept(settings):
    settings.KEPT_PAGES = True


@pytest.fixture
def entries(other_teacher):
    """Entries of another school, so that every sort (schools like mine too) lists them."""
    return [PracticeFactory(author=other_teacher, title=f"Exit tickets {n}") for n in range(3)]


def _search(client, sort: str, q: str = "exit tickets") -> tuple[list[str], int]:
    """The titles a search lists and how many queries drew it (as drawn: the page is not kept)."""
    pages_changed()
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/practices/", {"q": q, "sort": sort})
    assert response.status_code == 200
    return [practice.title for practice in response.context["practices"]], len(captured)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("q", ["!!!", "'"])
def test_a_search_with_no_words_finds_nothing_instead_of_failing(as_user, teacher, entries, sort, q):
    titles, _queries = _search(as_user(teacher), sort, q=q)
    assert titles == []


@pytest.mark.parametrize("sort", SORTS)
def test_someone_signing_in_keeps_the_searches_kept(as_user, client, teacher, entries, sort):
    someone = TeacherFactory()
    reader = as_user(teacher)
    _search(reader, sort, q="warm")
    titles, _queries = _search(reader, sort)
    kept, kept_queries = _search(reader, sort)
    assert kept == titles
    # Someone else signs in (the users' table is written: their last sign-in).
    client.force_login(someone)
    again, queries = _search(reader, sort)
    assert again == titles
    assert queries == kept_queries
