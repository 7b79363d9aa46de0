"""Browser tests: Playwright drives Debian's Chromium against a live server.

They run whenever /usr/bin/chromium exists; under CI=true a missing Chromium
is a failure, not a skip. Every page a journey visits is scanned with axe-core
(vendored from the npm registry in vendor/axe.min.js).
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

# Playwright's sync API keeps an event loop running in the test thread; Django
# refuses database calls from such a thread unless told it is safe, and here it is
# (the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required under CI but {CHROMIUM} does not exist")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Journey:
    """A browser page that scans every page it lands on for accessibility problems."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.scanned: list[str] = []

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        self.check()

    def check(self) -> None:
        """Scan the current page with axe-core against WCAG 2.1 A and AA."""
        self.page.wait_for_load_state("domcontentloaded")
        self.page.add_script_tag(path=str(AXE_SCRIPT))
        result = self.page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
        )
        problems = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} — "
            + "; ".join(
                node["target"][0] if isinstance(node["target"][0], str) else str(node["target"])
                for node in violation["nodes"][:3]
            )
            for violation in result["violations"]
        ]
        assert not problems, f"Accessibility problems on {self.page.url}:\n" + "\n".join(problems)
        self.scanned.append(self.page.url)

    def sign_in(self, username: str, password: str) -> None:
        self.goto("/accounts/login/")
        self.page.get_by_label("Username or e-mail").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.check()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        self.check()


@pytest.fixture
def journey(browser, live_server):
    context = browser.new_context(bypass_csp=True, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield Journey(page, live_server.url)
    context.close()
