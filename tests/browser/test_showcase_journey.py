from datetime import timedelta

import pytest
from django.utils import timezone

from showcases.models import Showcase, VisitRequest
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_host_request_approve_debrief(journey, browser, live_server, principal, other_teacher):
    page = journey.page
    journey.sign_in("principal", TEST_PASSWORD)
    page.get_by_role("link", name="Showcase visits").click()
    journey.check()
    page.get_by_role("link", name="Host a showcase").click()
    journey.check()
    page.get_by_label("Title").fill("Student-led conferences")
    page.get_by_label("The practice").fill("Students lead their own family conferences.")
    page.get_by_label("Impact on student learning").fill("Family attendance doubled.")
    page.get_by_label("Evidence of impact").fill("Sign-in sheets and surveys.")
    page.get_by_label("Focus question").fill("How do students describe their progress?")
    start = (timezone.localtime() + timedelta(days=5)).replace(hour=9, minute=0)
    session = page.get_by_role("group", name="Session 1")
    session.get_by_label("Starts").fill(start.strftime("%Y-%m-%dT%H:%M"))
    session.get_by_label("Ends").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    session.get_by_label("Seats").fill("2")
    session.get_by_label("Location").fill("Main office")
    page.get_by_role("button", name="Publish").click()
    journey.check()
    showcase = Showcase.objects.get()
    journey.sign_out()

    journey.sign_in("teacher2", TEST_PASSWORD)
    journey.goto("/showcases/")
    page.get_by_role("link", name="Student-led conferences").click()
    journey.check()
    page.get_by_label("Party size").fill("1")
    page.get_by_label("What you hope to learn").fill("How younger students prepare.")
    page.get_by_role("button", name="Request seats").click()
    journey.check()
    assert "The host will approve" in page.get_by_role("status").inner_text()
    journey.sign_out()

    journey.sign_in("principal", TEST_PASSWORD)
    journey.goto(f"/showcases/{showcase.pk}/")
    page.get_by_role("button", name="Approve").click()
    journey.check()
    visit = VisitRequest.objects.get()
    assert visit.status == "approved"

    # The visit takes place.
    slot = visit.slot
    slot.starts_at = timezone.now() - timedelta(hours=3)
    slot.ends_at = timezone.now() - timedelta(hours=1)
    slot.save()
    journey.goto(f"/showcases/sessions/{slot.pk}/debrief/")
    page.get_by_role("textbox", name="Debrief notes").fill("Students explained goals with evidence.")
    page.get_by_role("button", name="Save debrief notes").click()
    journey.check()
    journey.sign_out()

    journey.sign_in("teacher2", TEST_PASSWORD)
    journey.goto("/showcases/visits/")
    page.get_by_role("link", name="Reflect on Student-led conferences").click()
    journey.check()
    page.get_by_label("What I noticed").fill("Each student showed one piece of work as evidence.")
    page.get_by_label("What I will try").fill("Goal cards in advisory.")
    page.get_by_role("button", name="Save my reflection").click()
    journey.check()
    assert page.get_by_text("Students explained goals with evidence.").is_visible()
    assert page.get_by_text("Each student showed one piece of work as evidence.").is_visible()
