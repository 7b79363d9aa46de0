"""The small demo exercises what follows publishing: adoption timelines, questions (one to an
anonymous author), collections private and shared, follows and notifications, among people who
never share a name."""

import random

import pytest
from django.db.models import Count

from portal import demo as portal_demo
from portal.models import User
from portal.notifications.models import Notification
from practices import demo
from practices.models import AdoptionReport, Collection, CollectionSharing, Follow, Question

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    portal_demo.seed_people(scale="small", password="demo-pass-1234", rng=random.Random(7))
    demo.seed_practices(rng=random.Random(7))


def test_no_two_demo_people_share_a_name(seeded):
    names = User.objects.values("first_name", "last_name").annotate(n=Count("pk")).filter(n__gt=1)
    assert list(names) == []


def test_the_demo_has_timelines_questions_collections_follows_and_notices(seeded, as_user):
    assert AdoptionReport.objects.values("adoption").annotate(n=Count("pk")).filter(n__gte=3).exists()
    assert AdoptionReport.objects.filter(status="stopped").exclude(notes="").exists()
    answered = Question.objects.filter(practice__anonymous=True, answered_at__isnull=False).get()
    assert Question.objects.filter(answered_at__isnull=True).exists()
    assert {c.sharing for c in Collection.objects.all()} == set(CollectionSharing.values)
    teacher = User.objects.get(username="teacher")
    assert Follow.objects.filter(user=teacher).count() >= 3
    assert Notification.objects.filter(recipient=teacher, read_at__isnull=True).exists()
    client = as_user(User.objects.get(username="teacher2"))
    page = client.get(f"/practices/{answered.practice_id}/questions/").content.decode()
    assert "Answered by the author" in page


def test_seeding_twice_adds_nothing(seeded):
    counts = [m.objects.count() for m in (AdoptionReport, Question, Collection, Follow, Notification)]
    demo.seed_practices(rng=random.Random(7))
    assert [m.objects.count() for m in (AdoptionReport, Question, Collection, Follow, Notification)] == counts
