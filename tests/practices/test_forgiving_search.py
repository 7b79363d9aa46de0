"""Search that forgives and explains: near spellings still find (with "Did you mean …?"), each
result shows the passage it matched in with the words marked, and adaptations sharing a summary are
told apart. Runs on SQLite and, with DATABASE_URL, on PostgreSQL (pg_trgm and ts_headline)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from practices.models import Practice, SearchWord, Visibility
from practices.search import corrected_query
from tests.factories import FailureFactory, IterationFactory, PracticeFactory, TeacherFactory
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db


def _titles(response):
    return [practice.title for practice in response.context["practices"]]


@pytest.fixture
def exit_tickets(as_user, teacher):
    """Written through the form, as people do, so its words join the word list."""
    as_user(teacher).post(
        "/practices/new/",
        practice_post(
            title="Exit tickets",
            summary="Three questions at the end of class.",
            failures=[
                {
                    "tried": "Grading the tickets",
                    "what_happened": "Copying spread, so the tickets said nothing",
                    "why": "They felt high-stakes",
                    "lesson": "",
                    "ORDER": "1",
                }
            ],
        ),
    )
    return teacher.practices.get()


def test_a_typo_still_finds_and_says_what_it_searched_for(as_user, other_teacher, exit_tickets):
    response = as_user(other_teacher).get("/practices/", {"q": "exit tikets"})
    assert _titles(response) == ["Exit tickets"]
    page = response.content.decode()
    assert "Nothing matches “exit tikets”, so these are the practices matching “exit tickets”." in page
    assert "1 practice matching “exit tickets”" in page


def test_did_you_mean_when_the_typo_finds_something_too(as_user, other_teacher, exit_tickets):
    PracticeFactory(author=other_teacher, title="Tikets to ride", summary="A field trip tikets system.")
    response = as_user(other_teacher).get("/practices/", {"q": "tikets"})
    assert _titles(response) == ["Tikets to ride"]
    page = response.content.decode()
    assert 'Did you mean <a href="?q=tickets">tickets</a>?' in page


def test_a_word_found_only_where_the_reader_may_not_look_is_never_suggested(as_user, teacher, other_teacher):
    as_user(other_teacher).post(
        "/practices/new/", practice_post(title="Zebrafish lab", summary="Zebrafish embryos.", visibility="school")
    )
    assert SearchWord.objects.filter(word="zebrafish").exists()
    response = as_user(teacher).get("/practices/", {"q": "zebrafsh"})
    page = response.content.decode()
    assert _titles(response) == []
    assert "zebrafish" not in page.lower()


@pytest.mark.parametrize("typed", ["exit tickets or zebrafsh", "exit tickets OR zebrafsh", "zebrafsh or exit tickets"])
def test_no_near_word_from_an_entry_the_reader_may_not_open_even_beside_or(
    as_user, teacher, other_teacher, exit_tickets, typed
):
    """ "or" lets the corrected search find the visible entries alone: each near word must be in an
    entry the reader may open, or a school-only (or draft) entry's words could be read out one by one."""
    as_user(other_teacher).post(
        "/practices/new/", practice_post(title="Zebrafish lab", summary="Zebrafish embryos.", visibility="school")
    )
    as_user(other_teacher).post("/practices/new/", practice_post(title="Draft", summary="Axolotls.", action="draft"))
    assert SearchWord.objects.filter(word__in=["zebrafish", "axolotls"]).count() == 2
    for query in (typed, "exit tickets or axolotts"):
        page = as_user(teacher).get("/practices/", {"q": query}).content.decode().lower()
        assert "zebrafish" not in page
        assert "axolotls" not in page
    seen = Practice.objects.visible_to(teacher).published()
    assert corrected_query("zebrafsh", seen=seen) is None
    assert corrected_query("zebrafsh", seen=Practice.objects.visible_to(other_teacher).published()) == "zebrafish"


def test_known_words_are_left_alone(exit_tickets):
    seen = Practice.objects.published()
    assert corrected_query("exit tickets", seen=seen) is None
    assert corrected_query("exit tikets", seen=seen) == "exit tickets"
    assert corrected_query("", seen=seen) is None


def test_each_result_shows_the_passage_it_matched_in_with_the_words_marked(as_user, other_teacher, exit_tickets):
    page = as_user(other_teacher).get("/practices/", {"q": "copying"}).content.decode()
    assert "Matched in what did not work:" in page
    assert "<mark>Copying</mark>" in page


def test_the_passage_is_escaped(as_user, teacher, other_teacher):
    practice = PracticeFactory(author=teacher, title="Labs", summary="Lab routines.")
    FailureFactory(practice=practice, tried="<script>alert(1)</script> Goggles first", why="")
    practice.search_document = practice.build_search_document()
    practice.save()
    page = as_user(other_teacher).get("/practices/", {"q": "goggles"}).content.decode()
    # Escaped (SQLite), or left out as markup (PostgreSQL's headline drops tags): never run.
    assert "<mark>Goggles</mark>" in page
    assert "<script>alert(1)" not in page


def test_adaptations_that_share_a_summary_are_told_apart(as_user, teacher, other_teacher, exit_tickets):
    client = as_user(other_teacher)
    client.post(
        f"/practices/{exit_tickets.pk}/adapt/",
        practice_post(
            title="Exit tickets (adapted at Riverside Middle School)",
            summary="Three questions at the end of class.",
            adaptation_changes="Two questions, on sticky notes.",
        ),
    )
    page = as_user(teacher).get("/practices/", {"q": "three questions"}).content.decode()
    assert page.count("Three questions at the end of class.") >= 2
    assert "An adaptation, shared by Riverside Middle School on" in page
    assert "What changed: Two questions, on sticky notes." in page


def test_a_forgiving_search_runs_a_fixed_number_of_queries(as_user, teacher, exit_tickets, school, settings):
    """The typo's correction (known words, one near spelling), its results and their passages: fixed,
    whatever the number of entries (as drawn: a page served as kept runs none of them)."""
    settings.KEPT_PAGES = False
    client = as_user(TeacherFactory(school=school))

    def count():
        client.get("/practices/", {"q": "exit tikets"})
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/practices/", {"q": "exit tikets"}).status_code == 200
        return len(queries)

    few = count()
    for n in range(12):
        practice = PracticeFactory(author=teacher, title=f"Exit tickets {n}", visibility=Visibility.DISTRICT)
        FailureFactory(practice=practice, what_happened="tickets got lost")
    assert count() == few <= 12


def test_the_passage_is_from_the_first_part_holding_the_words(as_user, teacher, other_teacher):
    practice = PracticeFactory(
        author=teacher, title="Quiet labs", summary="Lab routines.", intent="Safer benches for every group."
    )
    IterationFactory(practice=practice, observed="The benches were crowded.")
    FailureFactory(practice=practice, tried="Benches by the window", why="")
    practice.search_document = practice.build_search_document()
    practice.save()
    client = as_user(other_teacher)
    page = client.get("/practices/", {"q": "benches"}).content.decode()
    assert "Matched in intent:" in page
    assert "<mark>benches</mark>" in page
    assert "Matched in how it evolved" not in page
    assert "Matched in what did not work" not in page
    # Words only in the title, which every card shows anyway: no passage.
    response = client.get("/practices/", {"q": "quiet"})
    assert _titles(response) == ["Quiet labs"]
    assert "Matched in" not in response.content.decode()
