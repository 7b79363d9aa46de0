"""The parts of the dashboard that are the same for every reader of a release (the charts, the
study's table, the segment tables, the trend) are drawn once per release and kept; each new
release is drawn afresh, and what depends on the reader never is kept."""

import re
from unittest import mock

import pytest

from surveys.models import Answer, Response, Tension
from surveys.services import figures_release
from tests.factories import PrincipalFactory

pytestmark = pytest.mark.django_db


def _without_csrf_token(page: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page.decode())


def test_a_page_finding_its_parts_kept_draws_no_chart(as_user, leader, cycle, known_answers):
    client = as_user(leader)
    first = _without_csrf_token(client.get(f"/surveys/{cycle.slug}/dashboard/").content)
    with (
        mock.patch("surveys.dashboard.tension_chart", side_effect=AssertionError("drawn again")),
        mock.patch("surveys.dashboard.trend_chart", side_effect=AssertionError("drawn again")),
    ):
        again = _without_csrf_token(client.get(f"/surveys/{cycle.slug}/dashboard/").content)
    assert again == first


def test_each_new_release_is_drawn_afresh(as_user, leader, cycle, known_answers):
    client = as_user(leader)
    page = client.get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    assert "Box plot of 6 positions" in page
    tension = Tension.objects.get(number=1)
    for _ in range(5):
        person = PrincipalFactory()
        response = Response(cycle=cycle, respondent=person)
        response.snapshot(person)
        response.save()
        Answer.objects.create(response=response, tension=tension, position=4)
    figures_release(cycle=cycle)
    page = client.get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    assert "Box plot of 11 positions" in page
    assert "Box plot of 6 positions" not in page


def test_a_principal_sees_their_own_positions_beside_kept_charts(as_user, leader, cycle, known_answers):
    first, second = known_answers[0], known_answers[1]
    Answer.objects.filter(response__respondent=second, tension__number=1).update(position=5)
    as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/")
    own = as_user(first).get(f"/surveys/{cycle.slug}/dashboard/")
    other = as_user(second).get(f"/surveys/{cycle.slug}/dashboard/")
    assert own.context["d"].own[1].position == 1
    assert other.context["d"].own[1].position == 5
    assert "Your position" in own.content.decode()
    assert "Your position" not in as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
