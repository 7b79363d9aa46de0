"""An anonymous entry never reveals its author to anyone but district staff."""

import pytest
import reversion
from django.core import mail

from practices.models import AdoptionStatus, Collection, CollectionSharing
from practices.services import adoption_record
from tests.factories import PracticeFactory, TeacherFactory
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret_author(school):
    return TeacherFactory(
        username="quietwriter",
        first_name="Philippa",
        last_name="Quartermaine",
        email="pq@hidden.example.org",
        school=school,
    )


@pytest.fixture
def anonymous_practice(secret_author):
    original = PracticeFactory(author=secret_author, anonymous=True, title="Failing forward with labs")
    original.failures.create(tried="Recipe labs", why="No thinking required", position=1)
    return original


def _identifying(user) -> list[str]:
    return [user.first_name, user.last_name, user.username, user.email]


def _pages(practice) -> list[str]:
    return [
        "/",
        "/practices/",
        "/practices/?q=labs",
        "/practices/?sort=most_adapted",
        f"/practices/{practice.pk}/",
        f"/practices/{practice.pk}/history/",
        "/practices/mine/",
    ]


@pytest.mark.parametrize("name", ["teacher", "principal", "leader", "other_teacher"])
def test_no_page_a_non_staff_user_can_open_names_the_author(
    as_user, request, name, anonymous_practice, secret_author, other_teacher
):
    adaptation = PracticeFactory(author=other_teacher, adapted_from=anonymous_practice, lineage_root=anonymous_practice)
    client = as_user(request.getfixturevalue(name))
    for path in [*_pages(anonymous_practice), f"/practices/{adaptation.pk}/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.content.decode()
        for secret in _identifying(secret_author):
            assert secret not in page, f"{secret!r} leaked on {path} to {name}"


def test_the_byline_says_anonymous(as_user, teacher, anonymous_practice):
    page = as_user(teacher).get(f"/practices/{anonymous_practice.pk}/").content.decode()
    assert "Anonymous colleague" in page


def test_author_sees_it_is_them(as_user, secret_author, anonymous_practice):
    page = as_user(secret_author).get(f"/practices/{anonymous_practice.pk}/").content.decode()
    assert "Anonymous (you)" in page


def test_district_staff_see_the_author(as_user, staff, anonymous_practice):
    page = as_user(staff).get(f"/practices/{anonymous_practice.pk}/").content.decode()
    assert "Philippa Quartermaine" in page


def test_edits_in_the_history_do_not_name_the_author(as_user, secret_author, other_teacher, anonymous_practice):
    as_user(secret_author).post(
        f"/practices/{anonymous_practice.pk}/edit/", practice_post(title="Failing forward with labs", anonymous="on")
    )
    page = as_user(other_teacher).get(f"/practices/{anonymous_practice.pk}/history/").content.decode()
    assert "by the author" in page
    assert "Quartermaine" not in page


def test_adoption_email_to_the_author_does_not_reach_anyone_else(
    other_teacher, anonymous_practice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        adoption_record(practice=anonymous_practice, user=other_teacher, status=AdoptionStatus.TRYING, notes="")
    assert [message.to for message in mail.outbox] == [["pq@hidden.example.org"]]
    assert "Quartermaine" not in mail.outbox[0].body


def test_an_anonymous_adaptation_is_announced_to_the_original_author_without_the_adapters_name(
    as_user, teacher, other_teacher, django_capture_on_commit_callbacks
):
    original = PracticeFactory(author=teacher, title="Exit tickets")
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(other_teacher).post(
            f"/practices/{original.pk}/adapt/",
            practice_post(title="Our exit tickets", adaptation_changes="Shorter periods.", anonymous="on"),
        )
    assert response.status_code == 302
    (message,) = mail.outbox
    text = f"{message.subject}{message.body}"
    for secret in _identifying(other_teacher):
        assert secret not in text
    assert "Anonymous colleague at Riverside Middle School has shared an adaptation" in message.body
    assert "Riverside Middle School" in message.subject


def test_the_lineage_of_the_original_does_not_name_an_anonymous_adapter(
    as_user, teacher, principal, other_teacher, staff
):
    original = PracticeFactory(author=teacher, title="Exit tickets")
    PracticeFactory(
        author=other_teacher, adapted_from=original, lineage_root=original, anonymous=True, title="Quiet version"
    )
    page = as_user(principal).get(f"/practices/{original.pk}/").content.decode()
    assert "Quiet version" in page and "Anonymous colleague" in page
    assert "Yamamoto" not in page
    assert "Yamamoto" in as_user(staff).get(f"/practices/{original.pk}/").content.decode()


def test_every_version_in_the_history_of_an_anonymous_entry_hides_who_saved_it(
    as_user, secret_author, principal, staff, anonymous_practice
):
    with reversion.create_revision():
        anonymous_practice.summary = "Rewritten"
        anonymous_practice.save()
        reversion.set_user(secret_author)
    page = as_user(principal).get(f"/practices/{anonymous_practice.pk}/history/").content.decode()
    assert "by the author" in page
    for secret in _identifying(secret_author):
        assert secret not in page
    assert (
        "Anonymous (you)" in as_user(secret_author).get(f"/practices/{anonymous_practice.pk}/history/").content.decode()
    )
    assert "Quartermaine" in as_user(staff).get(f"/practices/{anonymous_practice.pk}/history/").content.decode()


def test_searching_for_the_authors_name_does_not_find_an_anonymous_entry(as_user, teacher, anonymous_practice):
    page = as_user(teacher).get("/practices/", {"q": "Quartermaine"}).content.decode()
    assert "Failing forward with labs" not in page
    assert "Quartermaine" not in anonymous_practice.search_document


def test_a_shared_collection_does_not_say_who_saved_an_anonymous_entry_its_author_saved(
    as_user, teacher, secret_author, anonymous_practice
):
    team = Collection.objects.create(owner=teacher, name="Fall PLC", sharing=CollectionSharing.TEAM)
    team.members.set([secret_author])
    save_page = as_user(secret_author).get(f"/practices/{anonymous_practice.pk}/save/").content.decode()
    assert "you shared anonymously" in save_page and "only you see" in save_page
    response = as_user(secret_author).post(
        f"/practices/{anonymous_practice.pk}/save/", {"collection": str(team.pk), "note": "Mine, try it."}
    )
    assert response.status_code == 302
    page = as_user(teacher).get(f"/collections/{team.pk}/").content.decode()
    assert "Failing forward with labs" in page and "saved by" not in page
    # The team's list still names its members (what it was shared with), never beside the entry.
    assert "Anonymous colleague" in page


def test_notices_that_named_an_author_stop_naming_them_once_their_entry_is_anonymous(
    as_user, teacher, other_teacher, staff
):
    """Sent while the entry carried their name; the in-app notices are kept, so they are told
    without it once the author makes the entry anonymous (district staff still see the name)."""
    original = PracticeFactory(author=teacher, title="Exit tickets")
    adapter = as_user(other_teacher)
    adapter.post(
        f"/practices/{original.pk}/adapt/", practice_post(title="Our exit tickets", adaptation_changes="Shorter.")
    )
    adaptation = other_teacher.practices.get()
    asked = as_user(teacher).post(f"/practices/{adaptation.pk}/questions/", {"question-text": "How short?"})
    assert asked.status_code == 302
    question = adaptation.questions.get()
    adapter.post(
        f"/practices/{adaptation.pk}/questions/{question.pk}/answer/", {f"answer-{question.pk}-answer": "Ten minutes."}
    )
    before = as_user(teacher).get("/notifications/").content.decode()
    assert before.count(other_teacher.last_name) == 2
    response = adapter.post(
        f"/practices/{adaptation.pk}/edit/",
        practice_post(title="Our exit tickets", adaptation_changes="Shorter.", anonymous="on"),
    )
    assert response.status_code == 302
    after = as_user(teacher).get("/notifications/").content.decode()
    for secret in _identifying(other_teacher):
        assert secret not in after
    assert "Anonymous colleague at Riverside Middle School has shared an adaptation" in after
    assert "The author answered your question about “Our exit tickets”" in after
