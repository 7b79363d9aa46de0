"""The dashboard shows the first few comments on each tension and a tension's comments a page at a
time, and reads no more of a release than it shows: its queries do not grow with the responses."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys import dashboard
from surveys.services import figures_release
from tests.factories import PrincipalFactory, SchoolFactory
from tests.surveys.conftest import add_response

pytestmark = pytest.mark.django_db


def _comments(cycle, count, number=1):
    """`count` responses, each with a comment on tension `number` ("Comment 00", "Comment 01", …)."""
    for index in range(count):
        add_response(cycle, answers={number: (3, None, None, f"Comment {index:02}")})
    figures_release(cycle=cycle)


def _page(client, cycle, query=""):
    return client.get(f"/surveys/{cycle.slug}/dashboard/{query}").content.decode()


def _shown(page):
    return [text for text in (f"Comment {index:02}" for index in range(100)) if text in page]


def test_the_page_shows_the_first_comments_on_each_tension_and_links_to_the_rest(as_user, leader, cycle, monkeypatch):
    monkeypatch.setattr(dashboard, "COMMENTS_PREVIEW", 3)
    _comments(cycle, 7)
    page = _page(as_user(leader), cycle)
    assert _shown(page) == ["Comment 00", "Comment 01", "Comment 02"]
    assert "All 7 comments on tension 1</a> (4 more)" in page
    assert 'href="?comments=1#h-comments"' in page
    # Tensions nobody commented on have no heading of their own.
    assert 'id="h-comments-2"' not in page


def test_a_tension_s_comments_come_a_page_at_a_time(as_user, leader, cycle, monkeypatch):
    monkeypatch.setattr(dashboard, "COMMENTS_PAGE", 4)
    _comments(cycle, 10)
    client = as_user(leader)
    first = _page(client, cycle, "?comments=1")
    assert _shown(first) == ["Comment 00", "Comment 01", "Comment 02", "Comment 03"]
    assert "Comments 1–4 of 10" in first and "Page 1 of 3" in first
    assert 'href="?comments=1&amp;page=2#h-comments" rel="next"' in first and 'rel="prev"' not in first
    last = _page(client, cycle, "?comments=1&page=3")
    assert _shown(last) == ["Comment 08", "Comment 09"]
    assert "Comments 9–10 of 10" in last and 'rel="next"' not in last
    assert 'href="?comments=1&amp;page=2#h-comments" rel="prev"' in last
    past = _page(client, cycle, "?comments=1&page=40")
    assert _shown(past) == [] and "only 3 pages of comments" in past
    assert 'href="?comments=1&amp;page=3#h-comments"' in past


@pytest.mark.parametrize("query", ["?comments=nine", "?comments=99", "?comments=1&page=x"])
def test_a_request_the_page_cannot_read_gets_the_first_comments_or_the_first_page(
    as_user, leader, cycle, monkeypatch, query
):
    monkeypatch.setattr(dashboard, "COMMENTS_PREVIEW", 2)
    monkeypatch.setattr(dashboard, "COMMENTS_PAGE", 2)
    _comments(cycle, 6)
    response = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/{query}")
    assert response.status_code == 200
    assert _shown(response.content.decode()) == ["Comment 00", "Comment 01"]


def test_readers_who_may_not_read_comments_get_none_by_asking_for_a_tension(as_user, principal, cycle):
    _comments(cycle, 6)
    page = _page(as_user(principal), cycle, "?comments=1")
    assert _shown(page) == []
    assert "Comments are read only by" in page


def _queries(client, cycle, query=""):
    path = f"/surveys/{cycle.slug}/dashboard/{query}"
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_the_dashboard_runs_the_same_queries_whatever_the_responses_and_comments(as_user, leader, cycle, settings):
    settings.KEPT_PAGES = False  # the page as drawn
    client = as_user(leader)
    _comments(cycle, 6)
    few = {query: _queries(client, cycle, query) for query in ["", "?comments=1", "?comments=1&page=2"]}
    schools = [SchoolFactory() for _ in range(4)]
    for index in range(30):
        add_response(
            cycle,
            PrincipalFactory(school=schools[index % 4]),
            answers={number: (1 + index % 5, True, "high", f"Note {index}") for number in range(1, 8)},
        )
    figures_release(cycle=cycle)
    many = {query: _queries(client, cycle, query) for query in few}
    assert many == few
    # Session, person, cycle, tensions, cycles, releases (with the comments shown), the navigation's count.
    assert set(few.values()) == {7}
