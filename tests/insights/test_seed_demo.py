import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from insights.models import PracticeDay
from insights.summaries import summaries_rebuild, summary_rows
from portal import demo
from portal.models import Role, School, User
from practices import demo as practices_demo
from practices.models import Failure, Iteration, Practice
from showcases import demo as showcases_demo
from showcases.demo import _topic_for
from showcases.models import Showcase, VisitorReflection, VisitRequest, VisitSlot
from surveys import demo as surveys_demo
from surveys.models import Cycle, Response

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_varied_district_and_prints_logins(capsys):
    call_command("seed_demo", "--password", "demo-pass-123")
    out = capsys.readouterr().out
    for login in ["teacher", "teacher2", "principal", "leader", "staff"]:
        assert f"  {login} " in out
    assert School.objects.count() == len(demo.SMALL_SCHOOLS) == 26
    assert {s.level for s in School.objects.all()} == {"elementary", "middle", "high", "k8", "k12", "other"}
    assert {s.locale for s in School.objects.all()} == {"city", "suburb", "town", "rural"}
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    teacher, teacher2 = User.objects.get(username="teacher"), User.objects.get(username="teacher2")
    assert teacher.school != teacher2.school
    assert teacher.check_password("demo-pass-123")


def test_demo_showcases_show_a_practice_of_their_own_school_on_their_topic():
    call_command("seed_demo")
    showcases = list(Showcase.objects.prefetch_related("practices"))
    assert len(showcases) == 6
    assert len({showcase.host_school_id for showcase in showcases}) == 6
    for showcase in showcases:
        (practice,) = showcase.practices.all()
        assert practice.school_id == showcase.host_school_id, showcase.title
        topic = _topic_for(practice)
        assert topic is not None, practice.title
        assert showcase.title.startswith(topic.title), (showcase.title, practice.title)
    for reflection in VisitorReflection.objects.select_related("visit_request__slot__showcase"):
        assert reflection.practice in reflection.visit_request.slot.showcase.practices.all()


def test_seed_demo_twice_changes_nothing():
    call_command("seed_demo")
    counts = (School.objects.count(), User.objects.count())
    call_command("seed_demo")
    assert (School.objects.count(), User.objects.count()) == counts


def test_demo_logins_sign_in(client):
    call_command("seed_demo", "--password", "demo-pass-123")
    for username in ["teacher", "principal", "leader", "staff"]:
        response = client.post("/accounts/login/", {"username": username, "password": "demo-pass-123"})
        assert response.status_code == 302, username
        client.post("/accounts/logout/")


def test_large_scale_reaches_the_requested_numbers_and_is_idempotent(monkeypatch):
    monkeypatch.setattr(demo, "LARGE_SCHOOL_COUNT", 30)
    monkeypatch.setattr(demo, "LARGE_USER_COUNT", 400)
    monkeypatch.setattr(practices_demo, "LARGE_PRACTICE_COUNT", 300)
    monkeypatch.setattr(practices_demo, "LARGE_ITERATION_COUNT", 900)
    monkeypatch.setattr(practices_demo, "LARGE_FAILURE_COUNT", 360)

    monkeypatch.setattr(showcases_demo, "LARGE_SHOWCASE_COUNT", 20)
    monkeypatch.setattr(showcases_demo, "LARGE_REQUEST_COUNT", 200)

    monkeypatch.setattr(surveys_demo, "LARGE_RESPONSES_PER_CYCLE", 50)
    call_command("seed_demo", "--scale", "large")
    per_cycle = {cycle.slug: cycle.responses.count() for cycle in Cycle.objects.all()}
    assert set(per_cycle.values()) == {50}
    counts = (School.objects.count(), User.objects.count(), Practice.objects.count())
    assert counts == (30, 400, 300)
    assert 800 <= Iteration.objects.count() <= 1000 and 280 <= Failure.objects.count() <= 440
    assert Showcase.objects.count() == 20
    assert 190 <= VisitRequest.objects.count() <= 200

    assert not VisitSlot.objects.filter(seats_taken__gt=F("capacity")).exists()
    call_command("seed_demo", "--scale", "large")
    assert (School.objects.count(), User.objects.count(), Practice.objects.count()) == counts
    assert Showcase.objects.count() == 20
    assert {cycle.slug: cycle.responses.count() for cycle in Cycle.objects.all()} == per_cycle
    assert Response.objects.count() == 150
    assert User.objects.filter(role=Role.PRINCIPAL).count() >= 30


def test_small_demo_has_showcases_past_and_upcoming_with_waiting_lists():
    call_command("seed_demo")
    assert VisitSlot.objects.filter(starts_at__lt=timezone.now(), debriefed_at__isnull=False).exists()
    assert VisitSlot.objects.filter(starts_at__gt=timezone.now()).exists()
    assert VisitRequest.objects.filter(status="waitlisted").exists()
    assert VisitorReflection.objects.exists()
    assert not VisitSlot.objects.filter(seats_taken__gt=F("capacity")).exists()


def test_xl_scale_keeps_the_largest_districts_proportions_and_is_idempotent(monkeypatch, capsys):
    # The largest district's shape at a tiny size: the full xl run is for `make bench`.
    assert practices_demo.XL_ITERATION_COUNT == 3 * practices_demo.XL_PRACTICE_COUNT
    assert practices_demo.XL_FAILURE_COUNT * 5 == 6 * practices_demo.XL_PRACTICE_COUNT
    assert showcases_demo.XL_REQUEST_COUNT == 10 * showcases_demo.XL_SHOWCASE_COUNT
    monkeypatch.setattr(demo, "XL_SCHOOL_COUNT", 40)
    monkeypatch.setattr(demo, "XL_USER_COUNT", 1_900)
    monkeypatch.setattr(practices_demo, "XL_PRACTICE_COUNT", 500)
    monkeypatch.setattr(practices_demo, "XL_ITERATION_COUNT", 1_500)
    monkeypatch.setattr(practices_demo, "XL_FAILURE_COUNT", 600)
    monkeypatch.setattr(practices_demo, "XL_BATCH", 120)
    monkeypatch.setattr(showcases_demo, "XL_SHOWCASE_COUNT", 20)
    monkeypatch.setattr(showcases_demo, "XL_REQUEST_COUNT", 200)
    monkeypatch.setattr(showcases_demo, "XL_BATCH", 7)
    monkeypatch.setattr(surveys_demo, "XL_RESPONSES_PER_CYCLE", 60)
    call_command("seed_demo", "--scale", "xl")
    out = capsys.readouterr().out
    assert out.startswith("Demo district ready (xl scale")
    assert "  practices at scale: " in out

    counts = (School.objects.count(), User.objects.count(), Practice.objects.count(), Showcase.objects.count())
    assert counts == (40, 1_900, 500, 20)
    # Every person has a name of their own, though the name lists give 1,080 pairs.
    assert User.objects.values("first_name", "last_name").distinct().count() == 1_900
    bulk = Practice.objects.filter(title__endswith=")")
    assert Iteration.objects.filter(practice__in=bulk).count() == 3 * bulk.count()
    assert 1.05 <= Failure.objects.filter(practice__in=bulk).count() / bulk.count() <= 1.35
    for practice in bulk.order_by("pk")[:20]:
        assert (practice.iteration_count, practice.failure_count) == (
            practice.iterations.count(),
            practice.failures.count(),
        )
        assert practice.tag_names == ", ".join(sorted(practice.tags.names()))
    xl_showcases = Showcase.objects.filter(title__endswith=")")
    assert VisitSlot.objects.filter(showcase__in=xl_showcases).count() == xl_showcases.count()
    assert 190 <= VisitRequest.objects.count() <= 210
    assert not VisitSlot.objects.filter(seats_taken__gt=F("capacity")).exists()
    assert {cycle.slug: cycle.responses.count() for cycle in Cycle.objects.all()} == {
        "fall-2025": 60,
        "spring-2026": 60,
        "current": 60,
    }

    # The dashboard's summaries count the entries loaded in bulk too.
    seeded = summary_rows(PracticeDay)
    assert sum(row[2] for row in seeded) == Practice.objects.filter(status="published").count()
    summaries_rebuild()
    assert summary_rows(PracticeDay) == seeded

    call_command("seed_demo", "--scale", "xl")
    assert (
        School.objects.count(),
        User.objects.count(),
        Practice.objects.count(),
        Showcase.objects.count(),
    ) == counts
    assert Response.objects.count() == 180
