from datetime import timedelta
from importlib import import_module

import pytest
from django.utils import timezone

from surveys.models import Answer, Cycle, Response, Tension
from tests.factories import TEST_PASSWORD, PrincipalFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The seven tensions as the data migration creates them.
TENSIONS = import_module("surveys.migrations.0002_seven_tensions").TENSIONS


@pytest.fixture
def cycle(transactional_db, school):
    # Data migrations are flushed between transactional tests; bring the tensions back.
    for number, title, left, right in TENSIONS:
        Tension.objects.get_or_create(
            number=number, defaults={"title": title, "left_label": left, "right_label": right}
        )
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        name="Fall 2026", slug="fall-2026", opens_on=today - timedelta(days=2), closes_on=today + timedelta(days=5)
    )
    tension = Tension.objects.get(number=7)
    for position in (1, 2, 2, 3, 4):
        person = PrincipalFactory(school=school)
        response = Response(cycle=cycle, respondent=person)
        response.snapshot(person)
        response.save()
        Answer.objects.create(
            response=response, tension=tension, position=position, comment="We share wins more than failures."
        )
    return cycle


def test_respond_edit_and_leader_dashboard(journey, principal, leader, cycle):
    page = journey.page
    journey.sign_in("principal", TEST_PASSWORD)
    page.get_by_role("link", name="Answer the leadership survey").click()
    journey.check()
    first = page.get_by_role("region", name="1. How do we decide what the district should hold tight vs. loose?")
    first.get_by_role("radio", name="2 — leaning Centralized implementation").check()
    first.get_by_role("group", name="Has your system dedicated time and resources to this?").get_by_role(
        "radio", name="Yes"
    ).check()
    first.get_by_role("radio", name="High").check()
    last = page.get_by_role("region", name="7. What should we catalogue and share?")
    last.get_by_role("radio", name="4 — leaning Share process and failures").check()
    page.get_by_role("button", name="Save my answers").click()
    journey.check()
    assert "Your answers are saved" in page.get_by_role("status").inner_text()
    # Come back and change one answer.
    last = page.get_by_role("region", name="7. What should we catalogue and share?")
    assert last.get_by_role("radio", name="4 — leaning Share process and failures").is_checked()
    last.get_by_role("radio", name="5 — strongly Share process and failures").check()
    page.get_by_role("button", name="Save my answers").click()
    journey.check()
    assert Response.objects.filter(respondent=principal).count() == 1
    assert Answer.objects.get(response__respondent=principal, tension__number=7).position == 5
    journey.sign_out()

    journey.sign_in("leader", TEST_PASSWORD)
    journey.goto("/surveys/")
    page.get_by_role("link", name="Dashboard for Fall 2026").click()
    journey.check()
    table = page.get_by_role("table", name="District figures per tension")
    row = table.get_by_role("row").filter(has_text="7. Share best practices")
    # Positions 1, 2, 2, 3, 4, 5: median 2.5.
    assert "2.5" in row.inner_text()
    assert page.get_by_role("img", name="Tension 7: positions and shares leaning each way").is_visible()
    assert page.get_by_text("We share wins more than failures.").first.is_visible()
