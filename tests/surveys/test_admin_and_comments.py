"""No screen shows one person's answers; comments reach only the readers the form names."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import Role
from surveys.forms import ResponseForm
from surveys.models import COMMENT_READERS, Cycle, Response, Tension, comment_audience

pytestmark = pytest.mark.django_db


def test_staff_cannot_open_responses_or_answers_in_the_admin(as_user, staff, cycle, known_answers):
    client = as_user(staff)
    response = Response.objects.filter(cycle=cycle).earliest("pk")
    for path in [
        "/admin/surveys/response/",
        f"/admin/surveys/response/{response.pk}/change/",
        "/admin/surveys/answer/",
        "/admin/surveys/release/",
        "/admin/surveys/importbatch/",
    ]:
        assert client.get(path).status_code == 404, path
    index = client.get("/admin/surveys/").content.decode()
    assert "Cycles" in index and "Responses" not in index and "Answers" not in index
    # A cycle's page shows its dates, not its responses.
    page = client.get(f"/admin/surveys/cycle/{cycle.pk}/change/").content.decode()
    assert "Need more coaching time." not in page and "Quillfeather" not in page


def _cycle_post(**fields):
    data = {"name": "Spring", "slug": "spring"}
    data.update(fields)
    return data


def test_overlapping_cycles_are_refused_with_a_clear_message(as_user, staff, cycle):
    client = as_user(staff)
    start = cycle.closes_on - timedelta(days=2)
    response = client.post(
        "/admin/surveys/cycle/add/",
        _cycle_post(opens_on=start.isoformat(), closes_on=(start + timedelta(days=20)).isoformat()),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "These dates overlap Fall" in html and "Constraint" not in html
    assert Cycle.objects.count() == 1
    later = cycle.closes_on + timedelta(days=1)
    response = client.post(
        "/admin/surveys/cycle/add/",
        _cycle_post(opens_on=later.isoformat(), closes_on=(later + timedelta(days=20)).isoformat()),
    )
    assert response.status_code == 302 and Cycle.objects.count() == 2


def test_a_cycle_closing_before_it_opens_is_refused_in_plain_words(as_user, staff, db):
    today = timezone.localdate()
    response = as_user(staff).post(
        "/admin/surveys/cycle/add/",
        _cycle_post(opens_on=today.isoformat(), closes_on=(today - timedelta(days=1)).isoformat()),
    )
    html = response.content.decode()
    assert "A cycle must close on or after the day it opens." in html
    assert "cycle_closes_after_opening" not in html and not Cycle.objects.exists()


@pytest.mark.parametrize(("name", "sees"), [("principal", False), ("leader", True), ("staff", False)])
def test_comments_are_shown_only_to_the_readers_the_form_names(as_user, request, cycle, known_answers, name, sees):
    page = as_user(request.getfixturevalue(name)).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    assert ("Need more coaching time." in page) is sees
    if not sees:
        assert f"Comments are read only by {comment_audience()}" in page


def test_a_principal_whose_school_colleague_commented_does_not_read_it(as_user, cycle, known_answers):
    """Principals answered too; they read no comment, not even their own through the page."""
    page = as_user(known_answers[1]).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    assert "Need more coaching time." not in page


def test_the_form_names_the_readers_the_dashboard_uses():
    assert COMMENT_READERS == [Role.DISTRICT_LEADER]
    form = ResponseForm(tensions=list(Tension.objects.all()))
    assert "district leaders" in form.fields["q1_comment"].help_text
    assert comment_audience() in form.fields["q1_comment"].help_text
