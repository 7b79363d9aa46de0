"""Searches whose words match few entries (a negated word, a phrase, rare words together) find the
same entries, in the same order, whether the older windows of time are read through the search
vector's index or one by one; and a search that runs too long is stopped, the page still drawn."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from portal.lib import pagination
from practices import search
from practices.models import Status, Visibility
from tests.factories import PracticeFactory, SchoolFactory, TeacherFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the windows and the time limit are PostgreSQL's"),
]


@pytest.fixture(autouse=True)
def _pages_drawn(settings):
    """Each request draws its page: the same address is asked for under other limits."""
    settings.KEPT_PAGES = False


def _titles(response) -> list[str]:
    return [practice.title for practice in response.context["practices"]]


@pytest.fixture
def spread(teacher, monkeypatch):
    """Entries over years, in windows set as a large district's would be, with drafts and an entry
    kept inside another school among the matches."""
    now = timezone.now()
    # The newest window (half a day) holds none of them, as when the words match few entries.
    bounds = [now - timedelta(days=days) for days in (0.5, 30, 365)]
    monkeypatch.setattr(search, "_window_bounds", lambda using: bounds)
    for days in [2000, 3, 400, 45, 1200, 9]:
        PracticeFactory(
            author=teacher,
            title=f"Exit slips {days}",
            summary="exit slips at the door",
            published_at=now - timedelta(days=days),
        )
    for days in [1, 500]:
        PracticeFactory(author=teacher, title=f"Exit tickets {days}", published_at=now - timedelta(days=days))
    PracticeFactory(author=teacher, title="Exit slips draft", status=Status.DRAFT, published_at=None)
    outsider = TeacherFactory(school=SchoolFactory())
    PracticeFactory(
        author=outsider,
        title="Exit slips kept inside",
        visibility=Visibility.SCHOOL,
        published_at=now - timedelta(days=600),
    )


@pytest.mark.parametrize("sort", ["relevance", "newest", "most_adapted"])
@pytest.mark.parametrize(
    ("words", "found"),
    [
        (
            "exit -tickets",
            ["Exit slips 3", "Exit slips 9", "Exit slips 45", "Exit slips 400", "Exit slips 1200", "Exit slips 2000"],
        ),
        (
            '"exit slips" door',
            ["Exit slips 3", "Exit slips 9", "Exit slips 45", "Exit slips 400", "Exit slips 1200", "Exit slips 2000"],
        ),
        ("tickets -slips", ["Exit tickets 1", "Exit tickets 500"]),
        ("door -exit", []),
    ],
)
def test_few_matches_are_found_the_same_through_the_index_or_window_by_window(
    as_user, teacher, spread, monkeypatch, sort, words, found
):
    """The pool (here four entries) is the most recent matches the reader may open: the same when
    the older windows are read from the entries the search vector's index finds (few matches) and
    when they are read one by one (FEW_MATCHES at 0: the words counted as common)."""
    client = as_user(teacher)
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    by_index = client.get("/practices/", {"q": words, "sort": sort})
    monkeypatch.setattr(search, "FEW_MATCHES", 0)
    by_window = client.get("/practices/", {"q": words, "sort": sort})
    assert _titles(by_index) == _titles(by_window)
    assert set(_titles(by_index)) == set(found[:4])
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 1000)
    every = _titles(client.get("/practices/", {"q": words, "sort": sort}))
    monkeypatch.setattr(search, "FEW_MATCHES", 20_000)
    assert _titles(client.get("/practices/", {"q": words, "sort": sort})) == every
    assert sorted(every) == sorted(found)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sort", ["relevance", "newest", "most_adapted", "like_mine"])
@pytest.mark.parametrize("kept_pages", [False, True])
def test_a_search_past_its_time_limit_is_stopped_and_the_page_is_still_drawn(
    as_user, teacher, other_teacher, settings, sort, kept_pages
):
    """A search that runs longer than SEARCH_STATEMENT_TIMEOUT_MS (here made slow on purpose), in
    any order, is stopped instead of holding a server thread: the page answers and says so, with
    the reader's words kept; it is not kept for the reader (the servers were busy), so the same
    search asked again runs as usual."""
    # From another school, so that "Schools like mine" lists it too.
    PracticeFactory(author=other_teacher, title="Exit tickets")
    settings.SEARCH_STATEMENT_TIMEOUT_MS = 100
    settings.KEPT_PAGES = kept_pages

    def slow(execute, sql, params, many, context):
        if "pool_0" in sql:
            sql = f"SELECT slowed.* FROM ({sql}) AS slowed, (SELECT pg_sleep(5)) AS pause"  # noqa: S608
        return execute(sql, params, many, context)

    client = as_user(teacher)
    client.get("/practices/")  # the session's first page
    asked = {"q": "exit tickets", "sort": sort}
    with connection.execute_wrapper(slow):
        response = client.get("/practices/", asked)
    assert response.status_code == 200
    assert _titles(response) == []
    assert 'value="exit tickets"' in response.content.decode()
    assert "This search took too long and was stopped" in response.content.decode()
    assert _titles(client.get("/practices/", asked)) == ["Exit tickets"]
