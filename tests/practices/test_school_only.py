"""An entry shared with "my school" stays in that school: no other school's reader meets its
title, its tags or its existence in a list, a count, a tree or an e-mail."""

import pytest
from django.core import mail

from practices.models import Practice, Status, Visibility
from tests.factories import PracticeFactory, TeacherFactory
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def original(teacher):
    return PracticeFactory(author=teacher, title="Exit tickets", visibility=Visibility.DISTRICT)


@pytest.fixture
def kept_adaptation(original, other_teacher):
    """Riverside's adaptation of Maple Grove's entry, shared with Riverside only."""
    return PracticeFactory(
        author=other_teacher,
        adapted_from=original,
        lineage_root=original,
        visibility=Visibility.SCHOOL,
        title="Riverside's secret version",
    )


def test_an_adaptation_kept_in_another_school_is_neither_counted_nor_hinted_at(
    as_user, teacher, original, kept_adaptation
):
    client = as_user(teacher)
    listing = client.get("/practices/").content.decode()
    assert "Exit tickets" in listing and "Adapted 1 time" not in listing
    listing = client.get("/practices/", {"sort": "most_adapted"}).content.decode()
    assert "Adapted 1 time" not in listing
    page = client.get(f"/practices/{original.pk}/").content.decode()
    assert "secret version" not in page
    assert "not shared with you" not in page
    assert "Adaptations across schools" not in page


def test_its_own_school_sees_the_adaptation_in_the_tree_and_the_count(
    as_user, other_teacher, original, kept_adaptation
):
    colleague = TeacherFactory(school=other_teacher.school)
    client = as_user(colleague)
    assert "Adapted 1 time" in client.get("/practices/").content.decode()
    page = client.get(f"/practices/{original.pk}/").content.decode()
    assert "Adaptations across schools" in page and "Riverside&#x27;s secret version" in page


def test_a_visible_adaptation_of_a_hidden_one_hangs_under_the_nearest_entry_the_reader_may_open(
    as_user, teacher, other_teacher, original, kept_adaptation
):
    shared = PracticeFactory(
        author=TeacherFactory(school=other_teacher.school),
        adapted_from=kept_adaptation,
        lineage_root=original,
        title="Shared grandchild",
    )
    page = as_user(teacher).get(f"/practices/{original.pk}/").content.decode()
    assert "Shared grandchild" in page and f'href="/practices/{shared.pk}/"' in page
    assert "secret version" not in page and "not shared with you" not in page
    other_page = as_user(teacher).get(f"/practices/{shared.pk}/").content.decode()
    assert "secret version" not in other_page


def test_the_original_author_hears_of_an_adaptation_only_once_it_is_shared_with_them(
    as_user, teacher, other_teacher, original, django_capture_on_commit_callbacks
):
    client = as_user(other_teacher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/practices/{original.pk}/adapt/",
            practice_post(title="Riverside's secret version", adaptation_changes="Shorter.", visibility="school"),
        )
    adaptation = Practice.objects.get(title="Riverside's secret version")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/practices/{adaptation.pk}/edit/",
            practice_post(title="Riverside's secret version", adaptation_changes="Shorter.", visibility="district"),
        )
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == [teacher.email]
    assert "Riverside's secret version" in message.body
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/practices/{adaptation.pk}/edit/",
            practice_post(title="Riverside's secret version", adaptation_changes="Shorter.", visibility="district"),
        )
    assert len(mail.outbox) == 1


def test_tag_suggestions_come_only_from_entries_the_writer_could_see(as_user, teacher, other_teacher, principal):
    PracticeFactory(author=other_teacher, visibility=Visibility.DISTRICT).tags.set(["shared-everywhere"])
    PracticeFactory(author=other_teacher, visibility=Visibility.SCHOOL).tags.set(["riverside-only"])
    PracticeFactory(author=other_teacher, status=Status.DRAFT, published_at=None).tags.set(["someone-elses-draft"])
    PracticeFactory(author=principal, status=Status.DRAFT, published_at=None).tags.set(["colleagues-draft"])
    PracticeFactory(author=principal, visibility=Visibility.SCHOOL).tags.set(["maple-only"])
    PracticeFactory(author=teacher, status=Status.DRAFT, published_at=None).tags.set(["my-own-draft"])
    form = as_user(teacher).get("/practices/new/").content.decode()
    for offered in ("shared-everywhere", "maple-only", "my-own-draft"):
        assert f'value="{offered}"' in form
    for hidden in ("riverside-only", "someone-elses-draft", "colleagues-draft"):
        assert hidden not in form


def test_the_tag_filter_offers_no_tag_of_a_draft_or_of_another_schools_entry(as_user, teacher, other_teacher):
    PracticeFactory(author=other_teacher, visibility=Visibility.DISTRICT).tags.set(["shared-everywhere"])
    PracticeFactory(author=other_teacher, visibility=Visibility.SCHOOL).tags.set(["riverside-only"])
    PracticeFactory(author=other_teacher, status=Status.DRAFT, published_at=None).tags.set(["someone-elses-draft"])
    client = as_user(teacher)
    listing = client.get("/practices/").content.decode()
    assert "shared-everywhere" in listing
    assert "riverside-only" not in listing and "someone-elses-draft" not in listing
    # Naming a hidden tag in the address does not make it a choice (so it cannot be probed).
    probed = client.get("/practices/", {"tag": "riverside-only"})
    assert probed.status_code == 200
    assert 'value="riverside-only"' not in probed.content.decode()


def test_an_adaptation_of_an_entry_kept_in_the_school_stays_in_the_school(as_user, teacher, principal):
    """An adaptation starts from the original's title and words, so sharing it with the
    district would carry them out of the school."""
    kept = PracticeFactory(author=teacher, title="Maple-only routine", visibility=Visibility.SCHOOL)
    client = as_user(principal)
    form = client.get(f"/practices/{kept.pk}/adapt/").content.decode()
    assert 'value="district"' not in form
    assert "The original is shared with your school only" in form
    refused = client.post(
        f"/practices/{kept.pk}/adapt/",
        practice_post(title="Maple-only routine, our way", adaptation_changes="Shorter.", visibility="district"),
    )
    assert refused.status_code == 400
    assert not Practice.objects.filter(title="Maple-only routine, our way").exists()
    kept_in = client.post(
        f"/practices/{kept.pk}/adapt/",
        practice_post(title="Maple-only routine, our way", adaptation_changes="Shorter.", visibility="school"),
    )
    assert kept_in.status_code == 302
    adaptation = Practice.objects.get(title="Maple-only routine, our way")
    assert adaptation.visibility == Visibility.SCHOOL
    edit = client.post(
        f"/practices/{adaptation.pk}/edit/",
        practice_post(title="Maple-only routine, our way", adaptation_changes="Shorter.", visibility="district"),
    )
    assert edit.status_code == 400
    adaptation.refresh_from_db()
    assert adaptation.visibility == Visibility.SCHOOL
