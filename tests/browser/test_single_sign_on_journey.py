"""Single sign-on in Chromium, through the real OpenID provider of tests/oidc."""

import copy

import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from portal.sso import config as sso_config
from tests.browser.conftest import Journey
from tests.oidc import fixtures
from tests.oidc.fixtures import DISTRICT, oidc_environ

pytestmark = pytest.mark.django_db(transaction=True)

# The provider's fixtures, requested by name.
openid_provider = fixtures.openid_provider
sso = fixtures.sso

PHONE: ViewportSize = {"width": 390, "height": 844}


def _through_provider(page: Page, subject: str, email: str) -> None:
    page.get_by_role("button", name=DISTRICT, exact=True).click()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_the_button_reaches_the_provider_under_the_portals_policy(
    browser: Browser, sso, live_server, teacher, settings
):
    """A button's form is redirected on to the provider, and Chromium checks that step against the
    Content-Security-Policy's form-action (with 'self' alone it refuses to go): with the origins the
    configuration adds, a phone-sized window signs in."""
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    environ = oidc_environ(SSO_OIDC_ISSUER=sso.issuer("district"))
    policy["DIRECTIVES"]["form-action"] += sso_config.from_environment(environ).form_action_origins
    settings.CONTENT_SECURITY_POLICY = policy
    context = browser.new_context(locale="en-US", viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/")
    _through_provider(page, "tamika-1", teacher.email)
    page.get_by_text("Welcome, Tamika").wait_for()
    assert page.url == f"{live_server.url}/"
    context.close()


def test_the_sign_in_and_refusal_pages_pass_the_accessibility_scan(journey: Journey, sso, teacher):
    journey.page.set_viewport_size(PHONE)
    journey.goto("/accounts/login/")
    _through_provider(journey.page, "stranger-1", "stranger@elsewhere.example")
    journey.page.get_by_text("This account cannot sign in here").wait_for()
    journey.check()
