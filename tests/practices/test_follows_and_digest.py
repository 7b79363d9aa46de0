"""Following a practice, a school, a person or a tag; the weekly digest of what is new from them and
from schools like mine; adapters told when the original changes."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.notifications.models import Notification, NotificationKind
from portal.notifications.services import digests_send
from practices.models import Follow, Visibility
from practices.notices import digest_for
from tests.factories import PracticeFactory, SchoolFactory, TeacherFactory
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(other_teacher):
    practice = PracticeFactory(author=other_teacher, title="Number talks", visibility=Visibility.DISTRICT)
    practice.tags.set(["fractions", "discourse"])
    return practice


def _follow(client, practice, what, **extra):
    return client.post(f"/practices/{practice.pk}/follow/", {"what": what, **extra})


def test_following_from_a_practice_page(as_user, teacher, other_teacher, published):
    client = as_user(teacher)
    page = client.get(f"/practices/{published.pk}/follow/").content.decode()
    for label in ("This practice", "Riverside Middle School", "Kenji Yamamoto", "“fractions”", "“discourse”"):
        assert label in page
    for what, extra in (("practice", {}), ("school", {}), ("author", {}), ("tag", {"tag": "fractions"})):
        assert _follow(client, published, what, **extra).status_code == 302
    follow = Follow.objects.filter(user=teacher)
    assert {(f.practice_id, f.school_id, f.person_id, f.tag.name if f.tag else None) for f in follow} == {
        (published.pk, None, None, None),
        (None, published.school_id, None, None),
        (None, None, other_teacher.pk, None),
        (None, None, None, "fractions"),
    }
    # Following again keeps one follow; the page says what is followed.
    _follow(client, published, "school")
    assert Follow.objects.filter(user=teacher, school=published.school).count() == 1
    assert client.get(f"/practices/{published.pk}/follow/").content.decode().count("— <strong>following</strong>") == 4
    _follow(client, published, "school", action="unfollow")
    assert not Follow.objects.filter(user=teacher, school=published.school).exists()
    mine = client.get("/practices/mine/").content.decode()
    assert "The practice" in mine and "Number talks" in mine and "Kenji Yamamoto" in mine


def test_the_author_of_an_anonymous_entry_cannot_be_followed(as_user, teacher, other_teacher):
    anonymous = PracticeFactory(author=other_teacher, anonymous=True)
    client = as_user(teacher)
    page = client.get(f"/practices/{anonymous.pk}/follow/").content.decode()
    assert "Kenji" not in page
    assert _follow(client, anonymous, "author").status_code == 302
    assert not Follow.objects.exists()


def test_only_what_the_practice_shows_can_be_followed(as_user, teacher, published):
    client = as_user(teacher)
    _follow(client, published, "tag", tag="not-one-of-its-tags")
    _follow(client, published, "nonsense")
    assert not Follow.objects.exists()


def test_an_entry_one_may_not_see_cannot_be_followed(as_user, teacher, other_teacher):
    kept = PracticeFactory(author=other_teacher, visibility=Visibility.SCHOOL)
    assert as_user(teacher).get(f"/practices/{kept.pk}/follow/").status_code == 404
    assert _follow(as_user(teacher), kept, "school").status_code == 404


def test_unfollowing_from_my_practices(as_user, teacher, principal, published):
    follow = Follow.objects.create(user=teacher, school=published.school)
    assert as_user(principal).post(f"/practices/follows/{follow.pk}/delete/").status_code == 404
    assert as_user(teacher).post(f"/practices/follows/{follow.pk}/delete/").status_code == 302
    assert not Follow.objects.exists()


def test_a_followed_entry_hidden_since_leaves_my_list(as_user, teacher, published):
    Follow.objects.create(user=teacher, practice=published)
    published.visibility = Visibility.SCHOOL
    published.save()
    assert "Number talks" not in as_user(teacher).get("/practices/mine/").content.decode()


def test_the_digest_has_what_i_follow_and_schools_like_mine_as_i_may_see_them(
    teacher, other_teacher, school, other_school, published
):
    week_ago = timezone.now() - timedelta(days=7)
    Follow.objects.create(user=teacher, person=other_teacher)
    tag_follow = PracticeFactory(author=TeacherFactory(school=SchoolFactory(level="high")), title="Tagged fractions")
    tag_follow.tags.set(["fractions"])
    Follow.objects.create(user=teacher, tag=tag_follow.tags.get())
    Follow.objects.create(user=teacher, practice=published)
    PracticeFactory(author=TeacherFactory(school=other_school), adapted_from=published, title="Adapted number talks")
    PracticeFactory(author=other_teacher, anonymous=True, title="Anonymous by Kenji")
    PracticeFactory(author=other_teacher, visibility=Visibility.SCHOOL, title="Kept at Riverside")
    PracticeFactory(author=other_teacher, title="Old news", published_at=week_ago - timedelta(days=3))
    twin = SchoolFactory(slug="twin", level="elementary", enrollment=450, frl_percent=70, locale="city")
    PracticeFactory(author=TeacherFactory(school=twin), title="From a twin school")
    PracticeFactory(author=TeacherFactory(school=school), title="From my own school")
    PracticeFactory(author=teacher, title="My own")

    sections = {section.title: [item.text for item in section.items] for section in digest_for(teacher, week_ago)}
    followed = sections["New from what you follow"]
    assert "Number talks — Riverside Middle School" in followed
    assert any(text.startswith("Tagged fractions") for text in followed)
    assert any(text.startswith("Adapted number talks") for text in followed)
    everything = " ".join(text for texts in sections.values() for text in texts)
    for hidden in ("Anonymous by Kenji", "Kept at Riverside", "Old news", "From my own school", "My own"):
        assert hidden not in everything
    (alike,) = sections["New from schools like yours"]
    assert alike.startswith("From a twin school — ")
    assert alike.endswith("(same level, similar size, similar share on free or reduced lunch, also city)")


def test_the_digest_email_lists_them_with_a_one_click_unsubscribe(teacher, other_teacher, published):
    Follow.objects.create(user=teacher, school=published.school)
    assert digests_send() >= 1
    message = next(m for m in mail.outbox if m.to == [teacher.email])
    assert "Number talks — Riverside Middle School" in message.body
    assert f"/practices/{published.pk}/" in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Nothing new next time: nothing sent.
    mail.outbox.clear()
    assert digests_send(now=timezone.now() + timedelta(days=7)) == 0


def test_adapters_hear_when_the_original_changes_once_until_they_read_it(
    as_user, teacher, other_teacher, django_capture_on_commit_callbacks
):
    client = as_user(teacher)
    client.post("/practices/new/", practice_post(title="Exit tickets"))
    original = teacher.practices.get()
    PracticeFactory(author=other_teacher, adapted_from=original, lineage_root=original, title="Our tickets")
    PracticeFactory(author=TeacherFactory(), adapted_from=original, status="draft", published_at=None)
    for n in range(2):
        client.post(f"/practices/{original.pk}/edit/", practice_post(title="Exit tickets", summary=f"Version {n}"))
    told = Notification.objects.filter(kind=NotificationKind.ORIGINAL_CHANGED)
    assert [(notice.recipient, notice.text) for notice in told] == [
        (other_teacher, "“Exit tickets”, which you adapted, has changed: see what is new")
    ]
    assert told.get().url == f"/practices/{original.pk}/history/"


def test_the_follow_page_runs_a_fixed_number_of_queries(as_user, teacher, published):
    """Session, user, the entry, its tags, my follows among them: fixed, whatever the number of tags."""
    client = as_user(teacher)

    def count():
        client.get(f"/practices/{published.pk}/follow/")
        with CaptureQueriesContext(connection) as queries:
            client.get(f"/practices/{published.pk}/follow/")
        return len(queries)

    few = count()
    published.tags.add(*[f"tag {n}" for n in range(8)])
    Follow.objects.create(user=teacher, practice=published)
    assert count() == few <= 6
