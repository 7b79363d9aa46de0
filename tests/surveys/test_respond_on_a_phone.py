"""The survey form: one tension at a time on a phone (all on one page without JavaScript), where
the respondent is, the poles said plainly, and a skipped tension kept consistent with its comment:
a comment stays with its tension whatever parts are skipped, and comes back with them."""

import pytest

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


def test_a_comment_on_a_skipped_tension_is_kept_and_comes_back_with_the_skip(as_user, principal, cycle):
    client = as_user(principal)
    response = client.post(
        f"/surveys/{cycle.slug}/respond/", answer_form(q1_position="2", q3_comment="We are still deciding this")
    )
    assert response.status_code == 302
    answer = Answer.objects.get(tension__number=3)
    assert (answer.position, answer.dedicated_resources, answer.priority, answer.comment) == (
        None,
        None,
        None,
        "We are still deciding this",
    )
    page = client.get(f"/surveys/{cycle.slug}/respond/").content.decode()
    assert '<input type="radio" name="q3_position" value="" id="id_q3_position_5" checked>' in page
    assert "We are still deciding this</textarea>" in page


def test_skipping_a_tension_answered_before_keeps_only_what_is_left(as_user, principal, cycle):
    """Skipping the parts keeps the comment that is still there; clearing it too leaves nothing."""
    client = as_user(principal)
    client.post(f"/surveys/{cycle.slug}/respond/", answer_form(q1_position="2", q1_comment="Tight on curriculum"))
    client.post(f"/surveys/{cycle.slug}/respond/", answer_form(q2_position="3", q1_comment="Tight on curriculum"))
    first = Answer.objects.get(tension__number=1)
    assert (first.position, first.comment) == (None, "Tight on curriculum")
    client.post(f"/surveys/{cycle.slug}/respond/", answer_form(q2_position="3"))
    first.refresh_from_db()
    assert (first.position, first.comment) == (None, "")
    assert Response.objects.count() == 1


def test_an_error_opens_the_phone_layout_on_its_tension(as_user, principal, cycle):
    response = as_user(principal).post(
        f"/surveys/{cycle.slug}/respond/", answer_form(q3_position="9", q3_comment="Keep me")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("data-has-errors") == 1 and 'aria-labelledby="t3" data-step data-has-errors' in html
    assert "Keep me" in html
