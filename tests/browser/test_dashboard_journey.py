import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from practices.models import Adoption
from surveys.models import Cycle, Tension
from surveys.services import figures_release
from tests.browser.conftest import Journey
from tests.factories import TEST_PASSWORD, FailureFactory, PracticeFactory, PrincipalFactory, SchoolFactory
from tests.surveys.conftest import add_response, ensure_tensions

pytestmark = pytest.mark.django_db(transaction=True)

# Set to a folder to keep a screenshot of each dashboard at each width.
SCREENSHOTS = os.environ.get("DASHBOARD_SCREENSHOTS", "")
WIDTHS = (1440, 390)


@pytest.fixture
def district(teacher, other_teacher, other_school):
    practice = PracticeFactory(author=teacher, title="Exit tickets")
    FailureFactory(practice=practice)
    PracticeFactory(author=other_teacher, title="Number talks", published_at=timezone.now() - timedelta(days=40))
    Adoption.objects.create(practice=practice, user=other_teacher, school=other_school)


@pytest.fixture
def cycle(transactional_db, school):
    ensure_tensions()
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        name="Fall 2026", slug="fall-2026", opens_on=today - timedelta(days=2), closes_on=today + timedelta(days=5)
    )
    level = SchoolFactory(slug="another-elementary", level="elementary")
    for position in (1, 2, 2, 3, 4, 5):
        add_response(
            cycle,
            person=PrincipalFactory(school=level),
            answers={t: (position, position > 2, "high", "") for t in range(1, 8)},
        )
    figures_release(cycle=cycle)
    return cycle


def _no_sideways_scroll(journey: Journey) -> None:
    width = journey.page.evaluate("document.documentElement.scrollWidth")
    viewport = journey.page.evaluate("window.innerWidth")
    assert width <= viewport, f"{journey.page.url} scrolls sideways at {viewport} px: {width} px wide"


def test_leader_reviews_the_district_dashboard(journey, leader, district):
    page = journey.page
    journey.sign_in("leader", TEST_PASSWORD)
    page.get_by_role("link", name="Dashboard", exact=True).click()
    journey.check()
    assert page.get_by_role("heading", name="Is the district learning from itself?").is_visible()
    table = page.get_by_role("table", name="Published practices, openness and exchange per school")
    assert "Maple Grove Elementary" in table.inner_text()
    assert page.get_by_role(
        "img", name="Share of practices published each month that document failures and evolution"
    ).is_visible()
    assert page.get_by_role("img", name="Who learns from whom: a school-by-school heat map").is_visible()
    # Sorting by a column, from the keyboard.
    published = table.get_by_role("button", name="Published")
    published.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert table.get_by_role("columnheader", name="Published").get_attribute("aria-sort") == "descending"
    assert table.get_by_role("row").nth(1).inner_text().startswith("Maple Grove Elementary")
    page.get_by_label("School level").select_option("middle")
    page.get_by_role("button", name="Apply").click()
    journey.check()
    table = page.get_by_role("table", name="Published practices, openness and exchange per school")
    assert "Riverside Middle School" in table.inner_text() and "Maple Grove" not in table.inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").nth(2).click()
    assert download.value.suggested_filename == "district-schools-middle.csv"
    # Drill down to a school's page.
    table.get_by_role("link", name="Riverside Middle School").click()
    journey.check()
    assert page.get_by_role("heading", name="Riverside Middle School", level=1).is_visible()
    assert page.get_by_role("link", name="Number talks").is_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_both_dashboards_fit_the_screen_and_pass_the_scan(browser, live_server, leader, district, cycle, width):
    context = browser.new_context(bypass_csp=True, locale="en-US", viewport={"width": width, "height": 900})
    journey = Journey(context.new_page(), live_server.url)
    journey.page.set_default_timeout(10_000)
    journey.sign_in("leader", TEST_PASSWORD)
    for name, path in (("district", "/dashboard/"), ("survey", f"/surveys/{cycle.slug}/dashboard/")):
        journey.goto(path)
        _no_sideways_scroll(journey)
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            journey.page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}-dashboard-{width}.png"), full_page=True)
    chart = journey.page.get_by_role("img", name="Tension 7: positions and shares leaning each way")
    assert chart.is_visible()
    # On a phone, tables become stacked rows that name each cell's column.
    label = journey.page.locator("table.stack td .cell-label").first
    assert label.is_visible() == (width < 640)
    context.close()


def test_on_a_phone_the_sort_buttons_show_when_the_keyboard_reaches_them(browser, live_server, leader, district):
    """The stacked rows hide the column headings; a heading's sort button still shows while it
    has the keyboard's focus, and sorts."""
    context = browser.new_context(bypass_csp=True, locale="en-US", viewport={"width": 390, "height": 900})
    journey = Journey(context.new_page(), live_server.url)
    journey.page.set_default_timeout(10_000)
    journey.sign_in("leader", TEST_PASSWORD)
    journey.goto("/dashboard/")
    table = journey.page.get_by_role("table", name="Published practices, openness and exchange per school")
    button = table.get_by_role("button", name="Published")
    button.focus()
    box = button.bounding_box()
    assert box is not None and box["width"] > 20 and box["height"] > 10
    journey.page.keyboard.press("Enter")
    assert table.get_by_role("columnheader", name="Published").get_attribute("aria-sort") == "ascending"
    _no_sideways_scroll(journey)
    journey.check()
    context.close()


LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis-Interdisciplinary-Academy"


def test_names_in_long_words_wrap_on_a_phone(browser, live_server, leader, district, cycle, other_school):
    """A school or a pole named in one long word breaks across lines inside its stacked row
    instead of widening the page."""
    other_school.name = f"{LONG_WORD} of the Valley"
    other_school.save()
    Tension.objects.filter(number=4).update(left_label=f"Build-internally-{LONG_WORD}")
    context = browser.new_context(bypass_csp=True, locale="en-US", viewport={"width": 390, "height": 900})
    journey = Journey(context.new_page(), live_server.url)
    journey.page.set_default_timeout(10_000)
    journey.sign_in("leader", TEST_PASSWORD)
    for path in ("/dashboard/", f"/schools/{other_school.slug}/", f"/surveys/{cycle.slug}/dashboard/"):
        journey.goto(path)
        assert LONG_WORD in journey.page.content()
        _no_sideways_scroll(journey)
    context.close()


def test_a_principal_answers_one_tension_at_a_time_on_a_phone(browser, live_server, principal, cycle):
    context = browser.new_context(bypass_csp=True, locale="en-US", viewport={"width": 390, "height": 800})
    journey = Journey(context.new_page(), live_server.url)
    page = journey.page
    page.set_default_timeout(10_000)
    journey.sign_in("principal", TEST_PASSWORD)
    journey.goto(f"/surveys/{cycle.slug}/respond/")
    _no_sideways_scroll(journey)
    assert page.get_by_text("Tension 1 of 7").last.is_visible()
    first = page.get_by_role("region", name="1. How do we decide what the district should hold tight vs. loose?")
    assert first.is_visible()
    assert not page.get_by_role("region", name="7. What should we catalogue and share?").is_visible()
    first.get_by_role("radio", name="2 — leaning Centralized implementation").check()
    for _ in range(6):
        page.get_by_role("button", name="Next tension").click()
    assert page.get_by_role("status").filter(has_text="Tension 7 of 7: skipped").is_visible()
    last_comment = page.get_by_role("region", name="7. What should we catalogue and share?").get_by_label("Comment")
    last_comment.fill("We are starting to share what did not work.")
    last_comment.blur()
    assert page.get_by_role("status").filter(has_text="skipped; your comment on it is kept").is_visible()
    last = page.get_by_role("region", name="7. What should we catalogue and share?")
    last.get_by_role("radio", name="4 — leaning Share process and failures").check()
    journey.check()
    page.get_by_role("button", name="Save my answers").click()
    journey.check()
    assert "Your answers are saved" in page.get_by_role("status").first.inner_text()
    context.close()
