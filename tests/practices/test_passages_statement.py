"""The passages a search matched in are found by SQL put together once per number of entries on a
page: each search and each page gets its own text and entries, as the ORM's own query finds them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from practices import search
from tests.factories import FailureFactory, PracticeFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the passages' SQL is PostgreSQL's"),
]


@pytest.fixture
def entries(teacher):
    made = [
        PracticeFactory(author=teacher, title="Sticky notes", description="Students write on sticky notes."),
        PracticeFactory(author=teacher, title="Exit tickets", intent="Exit tickets show who needs help."),
        PracticeFactory(author=teacher, title="Attendance circles", summary="A circle about attendance."),
    ]
    FailureFactory(practice=made[2], why="Sticky notes fell off the wall before the circle.")
    return made


def _by_orm(ids: list[int], text: str) -> dict[int, search.Passage]:
    found = {}
    for pk, passage in search._passages_queryset(ids, text, "default"):
        if passage is not None:
            number, html = passage.split(":", 1)
            found[pk] = search.Passage(search.PASSAGE_PARTS[int(number)][1], search._marked(html))
    return found


def test_each_search_and_page_gets_its_own_passages(entries):
    search._passages_sql.clear()
    ids = [entry.pk for entry in entries]
    for text, page in [("sticky", ids), ("exit tickets", ids), ("sticky", ids[::-1]), ("attendance", ids[1:])]:
        found = search._postgresql_passages(page, text, "default")
        assert found == _by_orm(page, text), text
    assert set(search._postgresql_passages(ids, "sticky", "default")) == {ids[0], ids[2]}
    assert search._postgresql_passages(ids[2:], "sticky", "default")[ids[2]].part == "What did not work"
    # Put together once per number of entries.
    assert set(search._passages_sql) == {("default", 3), ("default", 2), ("default", 1)}


def test_a_page_of_passages_is_one_query_once_put_together(entries):
    search.matched_passages(entries, "sticky")
    with CaptureQueriesContext(connection) as queries:
        found = search.matched_passages(entries, "circle")
    assert len(queries) == 1
    assert "<mark>circle</mark>" in found[entries[2].pk].html.lower()
    assert search.PASSAGES_TEXT not in str(queries[0]["sql"])
