from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.lib.figures import FIGURES_SECONDS
from tests.factories import PracticeFactory, TeacherFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/"


def test_home_greets_every_persona_with_role_and_school(as_user, persona):
    _name, user = persona
    response = as_user(user).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Welcome, {user.first_name}" in page
    assert user.get_role_display().lower() in page
    if user.school:
        assert user.school.name in page
        assert "Your school" in page
    else:
        assert "Your school" not in page


def test_teacher_sees_what_teachers_do_and_no_staff_tools(as_user, teacher):
    page = as_user(teacher).get("/").content.decode()
    assert "Share a practice" in page
    assert "Roster import" not in page and "/admin/" not in page
    assert "The district at a glance" not in page


def test_principal_sees_colleague_counts(as_user, principal, teacher, other_teacher):
    page = as_user(principal).get("/").content.decode()
    assert "1 teacher, 1 principal" in page
    assert "Host a showcase visit" in page


def test_district_office_sees_the_district_at_a_glance(as_user, leader, teacher, other_teacher, principal):
    page = as_user(leader).get("/").content.decode()
    assert "The district at a glance" in page
    assert "<dt>Schools</dt><dd>2</dd>" in page
    assert "<dt>Teachers</dt><dd>2</dd>" in page
    assert '<th scope="row">Middle</th><td class="num">1</td>' in page


def test_the_district_at_a_glance_is_counted_once_every_few_minutes_and_says_when(
    as_user, leader, teacher, monkeypatch
):
    client = as_user(leader)
    first = client.get("/").content.decode()
    TeacherFactory(school=teacher.school)
    with CaptureQueriesContext(connection) as counted:
        again = client.get("/").content.decode()
    assert "<dt>Teachers</dt><dd>1</dd>" in first and "<dt>Teachers</dt><dd>1</dd>" in again
    assert "Counted at " in again
    counting = ('"never_signed_in"', 'COUNT("portal_school"."id")')
    assert not [query for query in counted.captured_queries if any(part in query["sql"] for part in counting)]
    moved = timezone.now() + timedelta(seconds=FIGURES_SECONDS + 1)
    monkeypatch.setattr(timezone, "now", lambda: moved)
    later = client.get("/").content.decode()
    assert "<dt>Teachers</dt><dd>2</dd>" in later


def test_staff_sees_links_to_their_tools(as_user, staff):
    page = as_user(staff).get("/").content.decode()
    assert 'href="/roster/import/"' in page
    assert 'href="/admin/"' in page


def test_home_runs_a_fixed_number_of_queries(as_user, leader, django_assert_max_num_queries):
    """Session, user and the district figures, and, as a leader can host, the host's inbox (its
    requests, and its sessions: two queries, which also give the navigation's badge): the count
    does not grow with schools or people."""
    client = as_user(leader)
    with django_assert_max_num_queries(13):
        client.get("/")


def test_home_lists_only_entries_the_reader_may_open_and_names_no_anonymous_author(
    as_user, teacher, other_teacher, principal
):
    PracticeFactory(author=other_teacher, title="Riverside only", visibility="school", featured_at=timezone.now())
    PracticeFactory(author=other_teacher, title="Riverside draft", status="draft", published_at=None)
    PracticeFactory(author=principal, title="Quiet feature", anonymous=True, featured_at=timezone.now())
    page = as_user(teacher).get("/").content.decode()
    assert "Quiet feature" in page
    assert "Riverside only" not in page and "Riverside draft" not in page
    assert "Hughes" not in page
