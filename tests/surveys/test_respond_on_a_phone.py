"""The survey form: one tension at a time on a phone (all on one page without JavaScript), where
the respondent is, the poles said plainly, and a skipped tension kept consistent with its comment."""

import pytest

from surveys.forms import SKIPPED_WITH_COMMENT
from surveys.models import Answer, Response
from tests.surveys.conftest import answer_form

pytestmark = pytest.mark.django_db


def test_every_tension_is_on_the_page_with_its_place_and_its_poles(as_user, principal, cycle):
    html = as_user(principal).get(f"/surveys/{cycle.slug}/respond/").content.decode()
    assert html.count(" data-step>") == 7 and "js/survey-steps.js" in html
    assert "Tension 3 of 7" in html
    assert (
        "1 means strongly <strong>Centralized implementation</strong>; "
        "5 means strongly <strong>Decentralized implementation</strong>" in html
    )


def test_a_comment_on_a_tension_skipped_entirely_is_pointed_out_and_kept(as_user, principal, cycle):
    response = as_user(principal).post(
        f"/surveys/{cycle.slug}/respond/", answer_form(q1_position="2", q3_comment="We are still deciding this")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert SKIPPED_WITH_COMMENT in html and "We are still deciding this" in html
    # The phone layout opens on the tension with the error.
    assert html.count("data-has-errors") == 1 and 'aria-labelledby="t3" data-step data-has-errors' in html
    assert not Response.objects.exists()


def test_a_comment_beside_any_answered_part_is_saved(as_user, principal, cycle):
    response = as_user(principal).post(
        f"/surveys/{cycle.slug}/respond/", answer_form(q3_priority="low", q3_comment="Not for us yet")
    )
    assert response.status_code == 302
    answer = Answer.objects.get(tension__number=3)
    assert (answer.position, answer.priority, answer.comment) == (None, "low", "Not for us yet")


def test_skipping_a_tension_answered_before_asks_about_its_comment(as_user, principal, cycle):
    """The earlier comment comes back in the form; skipping every part without clearing it is
    pointed out rather than leaving a comment on a skipped tension."""
    client = as_user(principal)
    client.post(f"/surveys/{cycle.slug}/respond/", answer_form(q1_position="2", q1_comment="Tight on curriculum"))
    again = client.post(
        f"/surveys/{cycle.slug}/respond/", answer_form(q2_position="3", q1_comment="Tight on curriculum")
    )
    assert again.status_code == 400 and SKIPPED_WITH_COMMENT in again.content.decode()
    assert Answer.objects.get(tension__number=1).position == 2
    cleared = client.post(f"/surveys/{cycle.slug}/respond/", answer_form(q2_position="3"))
    assert cleared.status_code == 302
    first = Answer.objects.get(tension__number=1)
    assert (first.position, first.comment) == (None, "")
