"""District staff import a OneRoster export on a phone, with the keyboard only: the upload leads
to its own page, which follows the check, shows the preview to confirm, then the import."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal import oneroster
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
        # An upload whose check waits for a worker, its page as a reader gets it (JavaScript on:
        # it asks for news without reloading, so no meta refresh for axe to refuse); a file name
        # without a space in it wraps rather than widen the page.
        waiting = OneRosterRun.objects.create(
            by=staff,
            file_name=f"roster-export-{'x' * 80}.zip",
            district_role="district_leader",
            stored="oneroster-pending/none.zip",
        )
        journey.goto(f"/roster/import/oneroster/{waiting.pk}/")
        page.wait_for_selector("[role=status] >> text=Checking the export…")
        assert page.evaluate("document.querySelectorAll('meta[http-equiv=refresh]').length") == 0
        _fits(page, "a run being checked")
        journey.goto(f"/roster/import/oneroster/{waiting.pk}/?refresh=off")
        _fits(page, "a run being checked, standing still")
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


def test_the_page_of_a_run_being_checked_follows_it_without_reloading(browser, live_server, staff, settings, tmp_path):
    """With JavaScript the waiting page asks for news every few seconds (a same-origin script,
    under the portal's Content-Security-Policy): the status region says how the check goes, and
    when it is done the preview takes the page's place, with no reload and focus on its heading.
    Without JavaScript the page reloads itself, as the meta refresh inside <noscript> says."""
    settings.MEDIA_ROOT = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # the check waits
    started = oneroster.oneroster_run_start(
        by=staff, data=zipped(files([ADA, GRACE])), file_name="lakeside.zip", district_role="district_leader"
    )
    context = browser.new_context(viewport=PHONE, locale="en-US")  # the CSP applies
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        refused = []
        page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else None)
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username or e-mail").fill(staff.username)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live_server.url}/roster/import/oneroster/{started.pk}/")
        page.wait_for_selector("[role=status] >> text=It waits for its turn.")
        page.evaluate("window.notReloaded = true")
        page.get_by_role("link", name="Stop refreshing").focus()
        # A worker takes the job: the status region says so, and the reader's focus stays put.
        OneRosterRun.objects.filter(pk=started.pk).update(started_at=timezone.now())
        expect(page.get_by_role("status")).not_to_contain_text("It waits for its turn.", timeout=15_000)
        assert page.evaluate("document.activeElement.textContent") == "Stop refreshing"
        oneroster.oneroster_run_check.call(started.pk)
        page.wait_for_selector("text=Nothing has changed yet")
        assert page.evaluate("window.notReloaded === true"), "the preview came without a reload"
        assert page.evaluate("document.activeElement.tagName") == "H1"
        assert "Preview of lakeside.zip" in page.evaluate("document.activeElement.textContent")
        assert page.get_by_role("button", name="Import lakeside.zip").is_visible()
        assert refused == []
        _fits(page, "the preview")
    finally:
        context.close()
    no_script = browser.new_context(java_script_enabled=False, bypass_csp=True, locale="en-US")
    try:
        page = no_script.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username or e-mail").fill(staff.username)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        OneRosterRun.objects.filter(pk=started.pk).update(status=OneRosterRunStatus.CHECKING)
        page.goto(f"{live_server.url}/roster/import/oneroster/{started.pk}/")
        assert page.locator("head meta[http-equiv=refresh]").count() == 1, "inside <noscript>, read without scripts"
        assert page.get_by_role("link", name="Stop refreshing").is_visible()
    finally:
        no_script.close()
