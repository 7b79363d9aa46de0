"""A search's ranked results are kept while nothing they were read from is written
(portal/lib/kept_results.py): asked again, the same search under the same filters by a reader
with the same rights reads no pool; any write to the entries, their counts or the schools, by any
path, is seen by the next search, and no reader is ever served what another may see."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.lib.kept_pages import pages_changed
from practices.models import Adoption, Practice, Visibility
from practices.services import practice_refresh_derived
from tests.factories import PracticeFactory, TeacherFactory

pytestmark = pytest.mark.django_db(transaction=True)

SORTS = ["relevance", "newest", "most_adapted", "like_mine"]


@pytest.fixture(autouse=True)
def _kept(settings):
    settings.KEPT_PAGES = True


def _search(client, sort: str, q: str = "exit tickets") -> tuple[list[str], str, int]:
    """The titles a search lists, its count line and how many queries drew it (as drawn: the
    page itself is not kept)."""
    pages_changed()
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/practices/", {"q": q, "sort": sort})
    assert response.status_code == 200
    page = response.content.decode()
    count = page.split('class="results-count" aria-live="polite">', 1)[1].split("</h2>", 1)[0]
    return [practice.title for practice in response.context["practices"]], " ".join(count.split()), len(captured)


@pytest.fixture
def entries(other_teacher):
    """Entries of another school, so that every sort (schools like mine too) lists them."""
    return [PracticeFactory(author=other_teacher, title=f"Exit tickets {n}") for n in range(3)]


@pytest.mark.parametrize("sort", SORTS)
def test_the_same_search_asked_again_reads_no_pool(as_user, teacher, entries, sort):
    client = as_user(teacher)
    # What any first search reads once (the district's pace of publishing, kept an hour).
    _search(client, sort, q="warm")
    titles, count, queries = _search(client, sort)
    assert sorted(titles) == ["Exit tickets 0", "Exit tickets 1", "Exit tickets 2"]
    again, count_again, queries_again = _search(client, sort)
    assert (again, count_again) == (titles, count)
    assert queries_again == queries - 1


@pytest.mark.parametrize("sort", SORTS)
def test_an_edit_is_found_by_the_next_search(as_user, teacher, other_teacher, entries, sort):
    client = as_user(teacher)
    _search(client, sort)
    for entry, title in [(entries[0], "Exit slips"), (entries[1], "Tickets out the door, an exit")]:
        entry.title = title
        entry.save()
        practice_refresh_derived(entry)
    PracticeFactory(author=other_teacher, title="Exit tickets 3")
    titles, count, _queries = _search(client, sort)
    assert sorted(titles) == ["Exit tickets 2", "Exit tickets 3", "Tickets out the door, an exit"]
    assert count.startswith("3 practices")


@pytest.mark.parametrize("sort", SORTS)
def test_an_entry_kept_inside_its_school_leaves_other_schools_results_and_counts(
    as_user, teacher, other_teacher, entries, sort
):
    colleague = TeacherFactory(school=other_teacher.school)
    outsider, insider = as_user(teacher), as_user(colleague)
    _search(outsider, sort)
    _search(insider, "newest")
    Practice.objects.filter(pk=entries[0].pk).update(visibility=Visibility.SCHOOL)
    titles, count, _queries = _search(outsider, sort)
    assert sorted(titles) == ["Exit tickets 1", "Exit tickets 2"]
    assert count.startswith("2 practices")
    # Its own school still finds it; the outsider, asking again, still does not.
    assert sorted(_search(insider, "newest")[0]) == ["Exit tickets 0", "Exit tickets 1", "Exit tickets 2"]
    assert sorted(_search(outsider, sort)[0]) == ["Exit tickets 1", "Exit tickets 2"]


def test_readers_with_other_rights_never_share_results(as_user, teacher, other_teacher, entries):
    """The same search by a reader of the entry's school, then by one of another school: each
    has their own, though nothing was written between."""
    inside = PracticeFactory(author=other_teacher, title="Exit tickets inside", visibility=Visibility.SCHOOL)
    colleague = TeacherFactory(school=other_teacher.school)
    assert "Exit tickets inside" in _search(as_user(colleague), "newest")[0]
    titles, count, _queries = _search(as_user(teacher), "newest")
    assert inside.title not in titles
    assert count.startswith("3 practices")


def test_a_new_adoption_reorders_the_most_adapted(as_user, teacher, other_teacher, entries):
    client = as_user(teacher)
    before = _search(client, "most_adapted")[0]
    last = next(entry for entry in entries if entry.title == before[-1])
    Adoption.objects.create(practice=last, user=TeacherFactory(), school=teacher.school)
    assert _search(client, "most_adapted")[0][0] == last.title


def test_a_school_changed_reorders_schools_like_mine(as_user, teacher, other_teacher, school):
    """Schools like mine ranks by what schools have in common: a school's details changed (its
    level, here) are seen by the next search."""
    like = TeacherFactory(school__level=school.level, school__locale=school.locale)
    unlike = TeacherFactory(school__level="high", school__locale="rural")
    PracticeFactory(author=like, title="Exit tickets alike")
    PracticeFactory(author=unlike, title="Exit tickets apart")
    client = as_user(teacher)
    assert _search(client, "like_mine")[0] == ["Exit tickets alike", "Exit tickets apart"]
    type(school).objects.filter(pk=unlike.school_id).update(
        level=school.level, locale=school.locale, enrollment=school.enrollment, frl_percent=school.frl_percent
    )
    type(school).objects.filter(pk=like.school_id).update(level="high", locale="rural")
    assert _search(client, "like_mine")[0] == ["Exit tickets apart", "Exit tickets alike"]


@pytest.mark.parametrize("sort", SORTS)
def test_an_entry_shut_past_the_portal_while_results_are_kept_is_left_out_not_an_error(as_user, teacher, entries, sort):
    """A write made past the portal's connections (by hand, in the database) moves no generation:
    the kept ids still name the entry, which the page, reading the entries as the reader may see
    them, leaves out."""
    client = as_user(teacher)
    _search(client, sort)
    with connection.cursor() as cursor:
        # The driver's own cursor, under the connection's wrappers.
        cursor.cursor.execute(
            'UPDATE "practices_practice" SET "visibility" = %s WHERE "id" = %s'
            if connection.vendor == "postgresql"
            else 'UPDATE "practices_practice" SET "visibility" = ? WHERE "id" = ?',
            [Visibility.SCHOOL.value, entries[0].pk],
        )
    titles, _count, _queries = _search(client, sort)
    assert sorted(titles) == ["Exit tickets 1", "Exit tickets 2"]
