"""“Schools like mine” means other schools: my own school's entries are one filter away, and each
result says what its school has in common with mine."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.lib import pagination
from tests.factories import PracticeFactory, SchoolFactory, TeacherFactory

pytestmark = pytest.mark.django_db


def _titles(response):
    return [practice.title for practice in response.context["practices"]]


@pytest.fixture
def district(teacher, school):
    """My school is an elementary city school of 420 students, 68% on free or reduced lunch."""
    twin = SchoolFactory(slug="twin", level="elementary", enrollment=450, frl_percent=70, locale="city")
    cousin = SchoolFactory(slug="cousin", level="elementary", enrollment=410, frl_percent=20, locale="rural")
    unlike = SchoolFactory(slug="unlike", level="high", enrollment=2000, frl_percent=5, locale="rural")
    PracticeFactory(author=TeacherFactory(school=unlike), title="From an unlike school")
    PracticeFactory(author=TeacherFactory(school=cousin), title="From a cousin school")
    PracticeFactory(author=TeacherFactory(school=twin), title="From a twin school")
    PracticeFactory(author=TeacherFactory(school=school), title="From my own school")
    PracticeFactory(author=teacher, title="My own entry")


def test_my_own_school_is_not_ranked_first_but_one_filter_away(as_user, teacher, district):
    client = as_user(teacher)
    response = client.get("/practices/", {"sort": "like_mine"})
    assert _titles(response) == ["From a twin school", "From a cousin school", "From an unlike school"]
    page = response.content.decode()
    assert "entries from Maple Grove Elementary are left out" in page
    assert 'href="?sort=like_mine&amp;school=maple-grove"' in page
    mine = client.get("/practices/", {"sort": "like_mine", "school": "maple-grove"})
    assert set(_titles(mine)) == {"From my own school", "My own entry"}


def test_each_result_says_what_its_school_has_in_common_with_mine(as_user, teacher, district):
    page = as_user(teacher).get("/practices/", {"sort": "like_mine"}).content.decode()
    assert "Like yours: same level, similar size, similar share on free or reduced lunch, also city" in page
    assert "Like yours: same level, similar size</li>" in page
    assert "Like yours: nothing in common in level, size, lunch share or locale" in page


def test_a_search_sorted_like_mine_leaves_my_school_out_too(as_user, teacher, district):
    response = as_user(teacher).get("/practices/", {"sort": "like_mine", "q": "school"})
    assert "From my own school" not in _titles(response)
    assert _titles(response)[0] == "From a twin school"


def test_readers_without_a_school_are_not_offered_it(as_user, leader, district):
    page = as_user(leader).get("/practices/").content.decode()
    assert 'value="like_mine"' not in page and "Like yours" not in page


def test_a_search_sorted_like_mine_ranks_the_most_recent_matches_then_leaves_my_school_out(
    as_user, teacher, school, monkeypatch
):
    """The pool is the most recent matches, my own school's among them (left out once it is
    picked, as on every database), ranked by what their schools share with mine, then the newest."""
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    now = timezone.now()
    twin = SchoolFactory(slug="twin", level="elementary", enrollment=450, frl_percent=70, locale="city")
    unlike = SchoolFactory(slug="unlike", level="high", enrollment=2000, frl_percent=5, locale="rural")
    for days, where in [(1, school), (2, unlike), (3, twin), (4, unlike), (5, twin)]:
        PracticeFactory(
            author=TeacherFactory(school=where),
            title=f"Tickets {where.slug} {days}",
            published_at=now - timedelta(days=days),
        )
    PracticeFactory(author=TeacherFactory(school=twin), title="Something else", published_at=now)
    client = as_user(teacher)
    # The pool holds the four most recent matches: the fifth, from the twin school, is not in it.
    response = client.get("/practices/", {"q": "tickets", "sort": "like_mine"})
    assert _titles(response) == ["Tickets twin 3", "Tickets unlike 2", "Tickets unlike 4"]
    mine = client.get("/practices/", {"q": "tickets", "sort": "like_mine", "school": school.slug})
    assert _titles(mine) == ["Tickets maple-grove 1"]
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 1000)
    response = client.get("/practices/", {"q": "tickets", "sort": "like_mine"})
    assert _titles(response) == ["Tickets twin 3", "Tickets twin 5", "Tickets unlike 2", "Tickets unlike 4"]
