from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from portal.lib import pagination
from practices import search
from practices.models import Facet, Status
from practices.services import practice_refresh_derived
from tests.factories import FailureFactory, IterationFactory, PracticeFactory, SchoolFactory, TeacherFactory

pytestmark = pytest.mark.django_db


def _titles(response) -> list[str]:
    return [practice.title for practice in response.context["practices"]]


def test_a_word_only_in_a_failures_why_finds_the_practice(as_user, teacher):
    practice = PracticeFactory(author=teacher, title="Reading buddies")
    PracticeFactory(author=teacher, title="Number talks")
    FailureFactory(practice=practice, why="the timetable collided with assemblies")

    practice_refresh_derived(practice)
    assert _titles(as_user(teacher).get("/practices/", {"q": "assemblies"})) == ["Reading buddies"]


def test_words_in_iterations_and_tags_are_searchable(as_user, teacher):
    practice = PracticeFactory(author=teacher, title="Reading buddies")
    IterationFactory(practice=practice, observed="pairs drifted into chatting")
    practice.tags.set(["peer tutoring"])

    practice_refresh_derived(practice)
    client = as_user(teacher)
    assert _titles(client.get("/practices/", {"q": "chatting"})) == ["Reading buddies"]
    assert _titles(client.get("/practices/", {"q": "tutoring"})) == ["Reading buddies"]
    assert _titles(client.get("/practices/", {"q": "nonexistentword"})) == []


def test_every_word_must_match(as_user, teacher):
    PracticeFactory(author=teacher, title="Exit tickets for fractions")
    PracticeFactory(author=teacher, title="Exit tickets for reading")
    assert _titles(as_user(teacher).get("/practices/", {"q": "exit fractions"})) == ["Exit tickets for fractions"]


def test_title_matches_rank_first(as_user, teacher):
    PracticeFactory(author=teacher, title="Morning meeting", description="We also use exit tickets sometimes.")
    PracticeFactory(author=teacher, title="Exit tickets daily")
    assert _titles(as_user(teacher).get("/practices/", {"q": "exit tickets"}))[0] == "Exit tickets daily"


def test_has_failures_and_has_evolution_filters(as_user, teacher):
    with_failure = PracticeFactory(author=teacher, title="With failure")
    FailureFactory(practice=with_failure)
    evolved = PracticeFactory(author=teacher, title="Evolved")
    IterationFactory.create_batch(2, practice=evolved)
    PracticeFactory(author=teacher, title="Plain")
    client = as_user(teacher)
    assert _titles(client.get("/practices/", {"has_failures": "on"})) == ["With failure"]
    assert _titles(client.get("/practices/", {"has_evolution": "on"})) == ["Evolved"]


def test_filters_compose(as_user, teacher, other_teacher):
    math = Facet.objects.get(kind="subject", slug="mathematics")
    k2 = Facet.objects.get(kind="grade_band", slug="k-2")
    a = PracticeFactory(author=teacher, title="Math K-2 here")
    a.facets.set([math, k2])
    b = PracticeFactory(author=other_teacher, title="Math K-2 there")
    b.facets.set([math, k2])
    c = PracticeFactory(author=teacher, title="Math only")
    c.facets.set([math])
    client = as_user(teacher)
    assert sorted(_titles(client.get("/practices/", {"subject": "mathematics", "grade": "k-2"}))) == [
        "Math K-2 here",
        "Math K-2 there",
    ]
    assert _titles(
        client.get("/practices/", {"subject": "mathematics", "grade": "k-2", "school": teacher.school.slug})
    ) == ["Math K-2 here"]
    assert _titles(client.get("/practices/", {"subject": "mathematics", "level": "middle"})) == ["Math K-2 there"]


def test_tag_featured_and_evidence_filters(as_user, teacher):
    tagged = PracticeFactory(author=teacher, title="Tagged")
    tagged.tags.set(["attendance"])
    PracticeFactory(author=teacher, title="Featured", featured_at=timezone.now())
    evidenced = PracticeFactory(author=teacher, title="Evidenced")
    evidenced.facets.set([Facet.objects.get(kind="evidence", slug="student-voice")])
    client = as_user(teacher)
    assert _titles(client.get("/practices/", {"tag": "attendance"})) == ["Tagged"]
    assert _titles(client.get("/practices/", {"featured": "on"})) == ["Featured"]
    assert _titles(client.get("/practices/", {"evidence": "student-voice"})) == ["Evidenced"]


def test_filters_survive_pagination(as_user, teacher):
    for n in range(25):
        practice = PracticeFactory(author=teacher, title=f"Failing {n:02d}")
        FailureFactory(practice=practice)
    PracticeFactory.create_batch(5, author=teacher)
    client = as_user(teacher)
    first = client.get("/practices/", {"has_failures": "on", "q": "Failing"})
    assert first.context["page"].paginator.count == 25
    page = first.content.decode()
    assert "?has_failures=on&amp;q=Failing&amp;page=2" in page
    second = client.get("/practices/", {"has_failures": "on", "q": "Failing", "page": "2"})
    assert len(second.context["practices"]) == 5
    assert all(title.startswith("Failing") for title in _titles(second))


def test_schools_like_mine_ranks_similar_schools_first(as_user, teacher):
    twin = SchoolFactory(
        slug="twin",
        level=teacher.school.level,
        enrollment=teacher.school.enrollment,
        frl_percent=teacher.school.frl_percent,
        locale=teacher.school.locale,
    )
    unlike = SchoolFactory(slug="unlike", level="high", enrollment=2000, frl_percent=5, locale="rural")
    PracticeFactory(author=TeacherFactory(school=unlike), title="From an unlike school")
    PracticeFactory(author=TeacherFactory(school=twin), title="From a twin school")
    response = as_user(teacher).get("/practices/", {"sort": "like_mine"})
    assert _titles(response) == ["From a twin school", "From an unlike school"]
    assert "Like yours: same level, similar size, similar share on free or reduced lunch, also city" in (
        response.content.decode()
    )


def test_most_adapted_sort(as_user, teacher, other_teacher):
    popular = PracticeFactory(author=teacher, title="Popular")
    PracticeFactory(author=teacher, title="Quiet")
    PracticeFactory(author=other_teacher, adapted_from=popular, lineage_root=popular, title="Adaptation")
    titles = _titles(as_user(teacher).get("/practices/", {"sort": "most_adapted"}))
    assert titles[0] == "Popular"


def test_archived_and_draft_entries_are_not_listed(as_user, teacher):
    PracticeFactory(author=teacher, title="Archived", status=Status.ARCHIVED)
    PracticeFactory(author=teacher, title="Draft", status=Status.DRAFT, published_at=None)
    PracticeFactory(author=teacher, title="Live")
    assert _titles(as_user(teacher).get("/practices/")) == ["Live"]


def test_very_long_lists_say_more_than_a_thousand(as_user, teacher, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    PracticeFactory.create_batch(5, author=teacher)
    response = as_user(teacher).get("/practices/")
    assert response.context["page"].paginator.capped
    assert "More than 1,000 practices" in response.content.decode()


def test_a_search_with_very_many_matches_ranks_the_most_recent_ones(as_user, teacher, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 2)
    now = timezone.now()
    # The best match by rank (the word in its title) is the oldest of five matches.
    PracticeFactory(author=teacher, title="Tickets, tickets", published_at=now - timedelta(days=10))
    for day in range(4):
        PracticeFactory(
            author=teacher, title=f"Entry {day}", summary="exit tickets", published_at=now - timedelta(days=day)
        )
    response = as_user(teacher).get("/practices/", {"q": "tickets"})
    assert _titles(response) == ["Entry 0", "Entry 1", "Entry 2"]
    assert response.context["page"].paginator.capped
    assert "ranked among the 1,000 most recent matches" in response.content.decode()
    # Fewer matches than the limit: every one is ranked, the best first.
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 1000)
    assert _titles(as_user(teacher).get("/practices/", {"q": "tickets"}))[0] == "Tickets, tickets"


def test_the_windows_of_a_pool_never_overlap():
    """Each window begins where the newer one ends; a first publication dated ahead of now (a
    clock set wrong, an import) would reverse them, so the pool is then looked for in one window."""
    now = timezone.now()
    cache.set(search.PUBLISHING_PACE_CACHE_KEY, (1_000_000.0, now - timedelta(days=3650)), None)
    bounds = search._window_bounds("default")
    assert len(bounds) > 1 and bounds == sorted(bounds, reverse=True) and all(bound < now for bound in bounds)
    cache.set(search.PUBLISHING_PACE_CACHE_KEY, (1_000_000.0, now + timedelta(days=30)), None)
    assert search._window_bounds("default") == []


@pytest.mark.parametrize("sort", ["relevance", "most_adapted"])
def test_the_most_recent_matches_are_found_however_far_back_they_go(as_user, teacher, monkeypatch, sort):
    """The pool of a search is its most recent matches, looked for a window of time at a time,
    the newest first (on PostgreSQL): found through every window, and no further back than the
    pool needs. The windows are placed by the district's pace; here they are set, as a test
    district is too small to have more than one."""
    now = timezone.now()
    monkeypatch.setattr(search, "_window_bounds", lambda using: [now - timedelta(days=days) for days in (7, 30, 365)])
    for days in [2000, 3, 400, 45, 1200]:
        PracticeFactory(author=teacher, title=f"Tickets {days}", published_at=now - timedelta(days=days))
    PracticeFactory(author=teacher, title="Something else", published_at=now - timedelta(days=1))
    client = as_user(teacher)
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 2)
    response = client.get("/practices/", {"q": "tickets", "sort": sort})
    assert sorted(_titles(response)) == ["Tickets 3", "Tickets 400", "Tickets 45"]
    assert response.context["page"].paginator.capped
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 1000)
    response = client.get("/practices/", {"q": "tickets", "sort": sort})
    assert sorted(_titles(response)) == ["Tickets 1200", "Tickets 2000", "Tickets 3", "Tickets 400", "Tickets 45"]
    assert "5 practices matching" in response.content.decode()
