"""District staff import a OneRoster export on a phone, with the keyboard only: the upload leads
to its own page, which follows the check, shows the preview to confirm, then the import."""

import re

import pytest

from portal.models import OneRosterRun, OneRosterRunStatus, RosterImport, User
from tests.browser.conftest import Journey
from tests.factories import TEST_PASSWORD
from tests.portal.test_oneroster import ADA, ALAN, GRACE, files, person, run, zipped

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
# Nothing on the page, and no table in it, may need scrolling sideways to be read.
SIDEWAYS = """() => [document.documentElement.scrollWidth,
  ...Array.from(document.querySelectorAll('.table-scroll, table')).map(e => e.scrollWidth - e.clientWidth)]"""


def _fits(page, label):
    width, *tables = page.evaluate(SIDEWAYS)
    assert width <= PHONE["width"], f"{label} is {width} px wide"
    assert all(extra <= 1 for extra in tables), f"a table on {label} scrolls sideways by {max(tables)} px"


def test_staff_preview_and_confirm_an_export_on_a_phone_with_the_keyboard(
    browser, live_server, staff, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    run(files([ADA, ALAN]))  # a past import, listed on both roster pages
    long_family = "Vanderbergh-Oppenheimer-Castellanos"
    newcomers = [
        person(
            f"t-{n}", "teacher", "school-oak", "Maximiliana", long_family, f"maximiliana.{n}.{long_family}@district.org"
        )
        for n in range(3)
    ]
    export = zipped(files([{**ADA, "familyName": "King-Lovelace"}, GRACE, *newcomers]))
    context = browser.new_context(viewport=PHONE, bypass_csp=True, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        journey = Journey(page, live_server.url)
        journey.sign_in(staff.username, TEST_PASSWORD)
        # An upload whose check waits for a worker, its page asked to stand still (a reload every
        # few seconds is what axe's meta-refresh rule refuses, and what a reader may stop).
        waiting = OneRosterRun.objects.create(
            by=staff, file_name="earlier.zip", district_role="district_leader", stored="oneroster-pending/none.zip"
        )
        journey.goto(f"/roster/import/oneroster/{waiting.pk}/?refresh=off")
        page.wait_for_selector("[role=status] >> text=Checking the export…")
        _fits(page, "a run being checked")
        waiting.delete()
        for path in ["/roster/import/", "/roster/import/oneroster/"]:
            journey.goto(path)
            _fits(page, path)

        page.set_input_files(
            "#id_export_file", {"name": "lakeside.zip", "mimeType": "application/zip", "buffer": export}
        )
        page.focus("#id_export_file")
        for _ in range(3):  # the file field, the district role, then the button
            if page.evaluate("document.activeElement.textContent.trim()") == "Check and preview":
                break
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Nothing has changed yet")
        run_page = re.compile(rf"{re.escape(live_server.url)}/roster/import/oneroster/\d+/$")
        assert run_page.match(page.url), f"the upload leads to its run's page, not {page.url}"
        journey.check()
        _fits(page, "the preview")
        assert not User.objects.filter(sourced_id="a-grace").exists()

        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == "Import lakeside.zip":
                break
        else:
            pytest.fail("the confirmation button cannot be reached with the keyboard")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=OneRoster export imported.")
        assert run_page.match(page.url), "the confirmation leads back to the run's page"
        journey.check()
        _fits(page, "the page after the import")
    finally:
        context.close()
    assert User.objects.filter(sourced_id="a-grace").exists()
    assert RosterImport.objects.count() == 2
    assert OneRosterRun.objects.get().status == OneRosterRunStatus.IMPORTED
