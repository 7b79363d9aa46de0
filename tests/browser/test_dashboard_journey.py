import pytest

from tests.factories import TEST_PASSWORD, FailureFactory, PracticeFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_leader_reviews_the_district_dashboard(journey, leader, teacher, other_teacher):
    practice = PracticeFactory(author=teacher, title="Exit tickets")
    FailureFactory(practice=practice)
    PracticeFactory(author=other_teacher, title="Number talks")
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
    page.get_by_label("School level").select_option("middle")
    page.get_by_role("button", name="Apply").click()
    journey.check()
    table = page.get_by_role("table", name="Published practices, openness and exchange per school")
    assert "Riverside Middle School" in table.inner_text() and "Maple Grove" not in table.inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").nth(2).click()
    assert download.value.suggested_filename.startswith("district-")
