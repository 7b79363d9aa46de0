"""Cards and the filter panel are kept drawn in the cache: a kept card never shows a reader
what they may not see, and any change to an entry, its school or its author shows at once."""

import pytest

from practices.models import Visibility
from tests.factories import PracticeFactory, StaffFactory, TeacherFactory
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret_author(school):
    return TeacherFactory(first_name="Philippa", last_name="Quartermaine", school=school)


def _list(client, path: str = "/practices/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def _edit(client, practice, **fields: str) -> None:
    post = practice_post(**{"title": practice.title, **fields})
    assert client.post(f"/practices/{practice.pk}/edit/", post).status_code == 302


def test_an_anonymous_card_drawn_for_its_author_and_staff_does_not_name_them_to_a_colleague(
    as_user, secret_author, teacher
):
    PracticeFactory(author=secret_author, anonymous=True, title="Quiet labs")
    assert "Anonymous (you)" in _list(as_user(secret_author))
    assert "Quartermaine" in _list(as_user(StaffFactory()))
    page = _list(as_user(teacher))
    assert "Quiet labs" in page
    assert "Anonymous colleague" in page
    assert "Quartermaine" not in page and "Philippa" not in page
    # The same for a search, whose cards carry the passage they matched in.
    found = _list(as_user(teacher), "/practices/?q=labs")
    assert "Quiet labs" in found and "Quartermaine" not in found


def test_an_edit_shows_at_once(as_user, teacher, other_teacher):
    practice = PracticeFactory(author=other_teacher, title="Exit tickets", summary="Old summary.")
    reader = as_user(teacher)
    assert "Old summary." in _list(reader)
    _edit(as_user(other_teacher), practice, title="Exit tickets, revised", summary="New summary.")
    page = _list(reader)
    assert "Exit tickets, revised" in page and "New summary." in page
    assert "Old summary." not in page


def test_becoming_anonymous_hides_the_name_on_a_card_seen_before(as_user, teacher, other_teacher):
    other_teacher.first_name, other_teacher.last_name = "Ottoline", "Vandersloot"
    other_teacher.save()
    practice = PracticeFactory(author=other_teacher, title="Exit tickets")
    reader = as_user(teacher)
    assert "Vandersloot" in _list(reader)
    _edit(as_user(other_teacher), practice, anonymous="on")
    page = _list(reader)
    assert "Exit tickets" in page and "Anonymous colleague" in page
    assert "Vandersloot" not in page


def test_an_audience_narrowed_to_the_school_hides_the_card_from_other_schools(
    as_user, teacher, other_teacher, principal
):
    practice = PracticeFactory(author=teacher, title="Exit tickets")
    outsider = as_user(other_teacher)
    assert "Exit tickets" in _list(outsider)
    _edit(as_user(teacher), practice, visibility=Visibility.SCHOOL)
    assert "Exit tickets" not in _list(outsider)
    # A colleague at the school sees it, now marked as kept in the school.
    assert "My school only" in _list(as_user(principal))


def test_an_archived_entry_leaves_the_list_at_once(as_user, teacher, other_teacher, principal):
    practice = PracticeFactory(author=teacher, title="Exit tickets")
    reader = as_user(other_teacher)
    assert "Exit tickets" in _list(reader)
    response = as_user(principal).post(f"/practices/{practice.pk}/archive/", {"reason": "Duplicate."})
    assert response.status_code == 302
    assert "Exit tickets" not in _list(reader)


def test_new_tags_a_renamed_school_and_a_renamed_author_show_at_once(as_user, teacher, other_teacher, school):
    practice = PracticeFactory(author=teacher, title="Exit tickets")
    practice.tags.set(["old-tag"])
    reader = as_user(other_teacher)
    assert '<span class="tag">old-tag</span>' in _list(reader)
    _edit(as_user(teacher), practice, tags="fresh-tag")
    school.name = "Maple Grove Renamed Academy"
    school.save()
    teacher.last_name = "Newname"
    teacher.save()
    page = _list(reader)
    assert '<span class="tag">fresh-tag</span>' in page and '<span class="tag">old-tag</span>' not in page
    assert "Maple Grove Renamed Academy" in page  # on the card
    assert "Newname" in page


def test_counts_are_each_readers_own(as_user, teacher, other_teacher, principal):
    """An adaptation kept inside its school is counted for that school's readers only, even
    when the card was drawn for one of them first."""
    original = PracticeFactory(author=other_teacher, title="Exit tickets")
    PracticeFactory(
        author=TeacherFactory(school=teacher.school),
        adapted_from=original,
        lineage_root=original,
        visibility=Visibility.SCHOOL,
    )
    assert "Adapted 1 time" in _list(as_user(principal))
    assert "Adapted 1 time" not in _list(as_user(other_teacher))
    original.adoptions.create(user=teacher, school=teacher.school)
    assert "1 trying it" in _list(as_user(other_teacher))


def test_a_kept_card_shows_the_passage_of_each_search(as_user, teacher, other_teacher):
    PracticeFactory(
        author=other_teacher, title="Exit tickets", description="Students write on sticky notes before leaving."
    )
    reader = as_user(teacher)
    first = _list(reader, "/practices/?q=sticky")
    assert "<mark>sticky</mark>" in first.lower()
    second = _list(reader, "/practices/?q=leaving")
    assert "<mark>leaving</mark>" in second.lower() and "<mark>sticky</mark>" not in second.lower()
    assert "Matched in" not in _list(reader)


def test_the_filter_panel_shows_each_requests_choices(as_user, teacher, school):
    reader = as_user(teacher)
    assert 'id="id_has_failures" checked' not in _list(reader)
    assert 'id="id_has_failures" checked' in _list(reader, "/practices/?has_failures=on")
    assert 'id="id_has_failures" checked' not in _list(reader, "/practices/?q=tickets")
    assert f'value="{school.slug}"' in _list(reader, f"/practices/?school={school.slug}")
    assert 'value="Maple"' in _list(reader, "/practices/?school=Maple")
    assert 'value="Maple"' not in _list(reader, "/practices/?school=Grove")
    assert "Clear all" not in _list(reader)
