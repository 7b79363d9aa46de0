"""Single sign-on: providers configured from the environment, the sign-in page, passwords turned
off, and the whole authorization-code flow against a real OpenID Connect provider on loopback
(tests/oidc: provider.js and the fixtures that start it). Without node or the `oidc-provider`
package the flow tests are skipped, except under CI=true, where they fail.
"""

import os
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from allauth.socialaccount.models import SocialAccount, SocialApp
from axes.models import AccessLog
from django.core.exceptions import ImproperlyConfigured

from portal.models import User
from portal.sso import config as sso_config
from portal.sso.adapters import (
    DEACTIVATED,
    ProviderIdentity,
    SignInRefused,
    SingleSignOnBackend,
    identity_of,
    rostered_person,
)
from tests.factories import TEST_PASSWORD, StaffFactory
from tests.oidc import fixtures
from tests.oidc.fixtures import DISTRICT, form_with_button, is_signed_in, oidc_environ, sign_in_through

# The provider's fixtures, requested by name.
openid_provider = fixtures.openid_provider
sso = fixtures.sso

ROOT = Path(__file__).resolve().parents[2]

live = pytest.mark.django_db(transaction=True)


# --- Configuration from the environment --------------------------------------------------


def test_no_variables_means_no_provider_and_passwords_on():
    sso = sso_config.from_environment({})
    assert sso.providers == {}
    assert sso.form_action_origins == []
    assert sso.password_sign_in is True


def test_every_preset_is_configured_from_its_variables():
    sso = sso_config.from_environment(
        {
            "SSO_GOOGLE_CLIENT_ID": "g-id",
            "SSO_GOOGLE_CLIENT_SECRET": "g-secret",
            "SSO_MICROSOFT_CLIENT_ID": "m-id",
            "SSO_MICROSOFT_CLIENT_SECRET": "m-secret",
            "SSO_MICROSOFT_TENANT": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
            "SSO_CLEVER_CLIENT_ID": "c-id",
            "SSO_CLEVER_CLIENT_SECRET": "c-secret",
            **oidc_environ(),
            "PASSWORD_SIGN_IN": "false",
        }
    )
    assert set(sso.providers) == {"google", "microsoft", "clever", "openid_connect"}
    assert sso.providers["google"]["APPS"] == [
        {"client_id": "g-id", "secret": "g-secret", "settings": {"scope": ["openid", "profile", "email"]}}
    ]
    assert sso.providers["microsoft"]["APPS"][0]["settings"] == {"tenant": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"}
    oidc = sso.providers["openid_connect"]["APPS"][0]
    assert (oidc["provider_id"], oidc["name"], oidc["client_id"]) == ("district", "District ID", "portal")
    assert oidc["settings"]["server_url"] == "https://id.district.example"
    assert sso.form_action_origins == [
        "https://accounts.google.com",
        "https://login.microsoftonline.com",
        "https://clever.com",
        "https://id.district.example",
    ]
    assert sso.password_sign_in is False


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({"SSO_GOOGLE_CLIENT_ID": "g-id"}, "SSO_GOOGLE_CLIENT_SECRET"),
        ({"SSO_CLEVER_CLIENT_SECRET": "c-secret"}, "SSO_CLEVER_CLIENT_ID"),
        ({"SSO_MICROSOFT_CLIENT_ID": "m-id", "SSO_MICROSOFT_CLIENT_SECRET": "m-secret"}, "SSO_MICROSOFT_TENANT"),
        ({"SSO_MICROSOFT_TENANT": "district.org"}, "SSO_MICROSOFT_CLIENT_ID"),
        (oidc_environ(SSO_OIDC_ISSUER=""), "SSO_OIDC_ISSUER"),
        (oidc_environ(SSO_OIDC_CLIENT_SECRET=" "), "SSO_OIDC_CLIENT_SECRET"),
        ({"SSO_OIDC_NAME": "District ID"}, "SSO_OIDC_ISSUER"),
    ],
)
def test_a_half_configured_provider_stops_start_up_naming_the_variable(environ, missing):
    with pytest.raises(ImproperlyConfigured, match=f"^{missing} is required"):
        sso_config.from_environment(environ)


@pytest.mark.parametrize("tenant", ["common", "organizations", "Consumers", "not a tenant", "https://x.org"])
def test_microsoft_sign_in_is_restricted_to_one_tenant(tenant):
    environ = {"SSO_MICROSOFT_CLIENT_ID": "m", "SSO_MICROSOFT_CLIENT_SECRET": "s", "SSO_MICROSOFT_TENANT": tenant}
    with pytest.raises(ImproperlyConfigured, match="SSO_MICROSOFT_TENANT"):
        sso_config.from_environment(environ)


@pytest.mark.parametrize(
    ("issuer", "accepted"),
    [
        ("https://id.district.example", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080/realms/district", True),
        ("http://id.district.example", False),
        ("id.district.example", False),
        ("https://id.district.example/?tenant=1", False),
    ],
)
def test_the_issuer_must_be_https_except_on_this_machine(issuer, accepted):
    environ = oidc_environ(SSO_OIDC_ISSUER=issuer)
    if accepted:
        assert sso_config.from_environment(environ).providers["openid_connect"]
    else:
        with pytest.raises(ImproperlyConfigured, match="SSO_OIDC_ISSUER"):
            sso_config.from_environment(environ)


def test_passwords_cannot_be_turned_off_without_a_provider():
    with pytest.raises(ImproperlyConfigured, match="PASSWORD_SIGN_IN=false needs a single sign-on provider"):
        sso_config.from_environment({"PASSWORD_SIGN_IN": "false"})
    with pytest.raises(ImproperlyConfigured, match="PASSWORD_SIGN_IN"):
        sso_config.from_environment({"PASSWORD_SIGN_IN": "sometimes"})


def test_without_passwords_no_backend_checks_one():
    configured = ["axes.backends.AxesStandaloneBackend", "portal.backends.UsernameOrEmailBackend"]
    assert sso_config.authentication_backends(configured, password_sign_in=True) == [
        *configured,
        "portal.sso.adapters.SingleSignOnBackend",
    ]
    assert sso_config.authentication_backends(configured, password_sign_in=False) == [
        "axes.backends.AxesStandaloneBackend",
        "portal.sso.adapters.SingleSignOnBackend",
    ]
    assert SingleSignOnBackend().authenticate(None, username="teacher", password=TEST_PASSWORD) is None


def test_the_portal_refuses_to_start_with_half_a_provider():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL", "SSO_"))}
    env.update({"DJANGO_DEBUG": "true", "SSO_GOOGLE_CLIENT_ID": "g-id"})
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SSO_GOOGLE_CLIENT_SECRET is required when SSO_GOOGLE_CLIENT_ID is set" in result.stderr


# --- What a provider says, and whom it matches -------------------------------------------


def _login(provider: str, extra_data: dict) -> SimpleNamespace:
    return SimpleNamespace(provider=SimpleNamespace(id=provider), account=SimpleNamespace(extra_data=extra_data))


@pytest.mark.parametrize(
    ("provider", "extra_data", "email", "verified"),
    [
        ("openid_connect", {"userinfo": {"email": "a@d.org", "email_verified": True}}, "a@d.org", True),
        ("openid_connect", {"userinfo": {"email": "a@d.org", "email_verified": "false"}}, "a@d.org", False),
        ("openid_connect", {"userinfo": {"email": "a@d.org", "email_verified": "TRUE"}}, "a@d.org", True),
        ("openid_connect", {"id_token": {"email": "a@d.org"}}, "a@d.org", False),
        ("google", {"email": "a@d.org", "email_verified": 1}, "a@d.org", False),
        ("microsoft", {"mail": None, "userPrincipalName": "a@d.org"}, "a@d.org", True),
        ("clever", {"data": {"email": " a@d.org "}}, "a@d.org", True),
    ],
)
def test_only_a_claim_that_is_true_verifies_an_address(provider, extra_data, email, verified):
    identity = identity_of(_login(provider, extra_data))
    assert (identity.email, identity.email_verified) == (email, verified)


def test_the_oneroster_key_is_read_where_the_provider_gives_it():
    identity = identity_of(_login("openid_connect", {"userinfo": {"SourcedId": "t-1001", "email": "a@d.org"}}))
    assert identity.sourced_id == "t-1001"


@pytest.mark.django_db
def test_the_oneroster_key_matches_before_the_address(teacher, other_teacher):
    teacher.sourced_id = "t-1001"
    teacher.save()
    assert rostered_person(ProviderIdentity(other_teacher.email, True, "t-1001")) == teacher
    assert rostered_person(ProviderIdentity("home@personal.example", False, "t-1001")) == teacher


@pytest.mark.django_db
def test_a_oneroster_key_nobody_carries_falls_back_to_the_verified_address(teacher):
    assert rostered_person(ProviderIdentity(teacher.email.upper(), True, "t-9999")) == teacher
    with pytest.raises(SignInRefused, match="unverified"):
        rostered_person(ProviderIdentity(teacher.email, False, "t-9999"))


@pytest.mark.django_db
def test_a_deactivated_person_is_refused_whichever_way_they_are_matched(teacher):
    teacher.sourced_id = "t-1001"
    teacher.is_active = False
    teacher.save()
    for identity in [ProviderIdentity(None, False, "t-1001"), ProviderIdentity(teacher.email, True, None)]:
        with pytest.raises(SignInRefused) as refusal:
            rostered_person(identity)
        assert refusal.value.reason == DEACTIVATED


# --- The sign-in page ----------------------------------------------------------------------


@pytest.fixture
def district_provider(settings):
    """The OpenID Connect preset configured (nothing is fetched until someone presses its button)."""
    settings.SOCIALACCOUNT_PROVIDERS = sso_config.from_environment(oidc_environ()).providers


@pytest.fixture
def passwords_off(settings, district_provider):
    settings.PASSWORD_SIGN_IN = False
    settings.AUTHENTICATION_BACKENDS = sso_config.authentication_backends(
        settings.AUTHENTICATION_BACKENDS, password_sign_in=False
    )


@pytest.mark.django_db
def test_the_sign_in_page_offers_each_provider_as_a_post_button_beside_the_password_form(client, district_provider):
    response = client.get("/accounts/login/?next=/practices/")
    page = response.content.decode()
    form = form_with_button(page, DISTRICT)
    assert form.method == "post" and form.action == "/accounts/oidc/district/login/"
    assert form.fields["next"] == "/practices/" and form.fields["csrfmiddlewaretoken"]
    assert 'name="password"' in page and "With a password" in page


@pytest.mark.django_db
def test_a_provider_address_opened_with_get_only_shows_a_button(client, district_provider):
    response = client.get("/accounts/oidc/district/login/")
    assert response.status_code == 200
    assert form_with_button(response.content.decode(), "Continue to District ID").method == "post"


@pytest.mark.django_db
def test_a_provider_that_does_not_answer_gets_a_page_not_a_server_error(client, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    environ = oidc_environ(SSO_OIDC_ISSUER=f"http://127.0.0.1:{closed}")
    settings.SOCIALACCOUNT_PROVIDERS = sso_config.from_environment(environ).providers
    response = client.post("/accounts/oidc/district/login/")
    assert response.status_code == 502
    assert b"Sign-in is not available right now" in response.content


@pytest.mark.django_db
def test_an_app_added_in_the_database_is_not_a_provider(client):
    SocialApp.objects.create(provider="openid_connect", provider_id="mine", name="Mine", client_id="x", secret="y")
    assert b"Sign in with Mine" not in client.get("/accounts/login/").content
    assert client.get("/accounts/oidc/mine/login/").status_code == 404


@pytest.mark.django_db
def test_without_passwords_the_page_has_only_the_buttons_and_a_password_is_refused(client, teacher, passwords_off):
    page = client.get("/accounts/login/").content.decode()
    assert DISTRICT in page
    assert 'name="password"' not in page and "Forgotten your password" not in page
    response = client.post("/accounts/login/", {"username": "teacher", "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert b"Signing in with a password is turned off" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_without_passwords_the_admin_sends_people_to_the_portal_sign_in(client, passwords_off):
    response = client.get("/admin/login/?next=/admin/portal/user/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/admin/portal/user/"
    assert client.post("/admin/login/", {"username": "staff", "password": TEST_PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_without_the_password_backend_even_the_admin_form_checks_no_password(client, settings):
    """Whatever form still takes a password, nothing checks it once the backend is gone."""
    StaffFactory(username="staff", is_staff=True, is_superuser=True)
    settings.AUTHENTICATION_BACKENDS = sso_config.authentication_backends(
        settings.AUTHENTICATION_BACKENDS, password_sign_in=False
    )
    response = client.post("/admin/login/", {"username": "staff", "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_turning_passwords_off_ends_sessions_signed_in_with_one(client, teacher, settings):
    client.post("/accounts/login/", {"username": "teacher", "password": TEST_PASSWORD})
    assert client.get("/").status_code == 200
    settings.AUTHENTICATION_BACKENDS = sso_config.authentication_backends(
        settings.AUTHENTICATION_BACKENDS, password_sign_in=False
    )
    assert client.get("/").status_code == 302


# --- Through a real OpenID Connect provider ------------------------------------------------


@live
def test_a_rostered_person_signs_in_and_lands_on_the_home_page(sso, live_server, teacher):
    browser, page = sign_in_through(
        live_server, DISTRICT, sub="tamika-1", email=teacher.email.upper(), email_verified="true"
    )
    assert (page.status_code, page.url) == (200, f"{live_server.url}/")
    assert "Welcome, Tamika" in page.text
    assert is_signed_in(browser, live_server)
    # The portal's own sign-in machinery ran: the known-browser cookie, the access log.
    assert "portal_browser" in browser.cookies
    assert AccessLog.objects.filter(username="teacher").exists()
    assert SocialAccount.objects.get(provider="district", uid="tamika-1").user == teacher


@live
def test_sign_in_comes_back_to_the_page_asked_for(sso, live_server, teacher):
    _browser, page = sign_in_through(
        live_server, DISTRICT, start="/practices/", sub="tamika-1", email=teacher.email, email_verified="true"
    )
    assert (page.status_code, page.url) == (200, f"{live_server.url}/practices/")


@live
def test_later_sign_ins_follow_the_link_when_the_roster_changes_the_address(sso, live_server, teacher):
    sign_in_through(live_server, DISTRICT, sub="tamika-1", email=teacher.email, email_verified="true")
    old_address = teacher.email
    teacher.email = "tamika.robinson@newdomain.example.org"
    teacher.save()
    browser, _page = sign_in_through(live_server, DISTRICT, sub="tamika-1", email=old_address, email_verified="true")
    assert is_signed_in(browser, live_server)


@live
def test_a_person_is_matched_by_the_oneroster_key_the_provider_sends(sso, live_server, teacher):
    teacher.sourced_id = "t-1001"
    teacher.save()
    browser, page = sign_in_through(
        live_server, DISTRICT, sub="tamika-1", sourcedId="t-1001", email="tamika@home.example", email_verified="false"
    )
    assert "Welcome, Tamika" in page.text
    assert is_signed_in(browser, live_server)


@live
def test_an_unknown_person_is_refused_and_nobody_is_created(sso, live_server, teacher):
    people = User.objects.count()
    browser, page = sign_in_through(
        live_server, DISTRICT, sub="stranger-1", email="stranger@elsewhere.example", email_verified="true"
    )
    assert page.status_code == 403
    assert "This account cannot sign in here" in page.text
    assert not is_signed_in(browser, live_server)
    assert User.objects.count() == people
    assert not SocialAccount.objects.exists()


@live
def test_an_unverified_address_is_refused(sso, live_server, teacher):
    browser, page = sign_in_through(live_server, DISTRICT, sub="tamika-1", email=teacher.email, email_verified="false")
    assert page.status_code == 403
    assert "Your e-mail address is not confirmed" in page.text
    assert not is_signed_in(browser, live_server)
    assert not SocialAccount.objects.exists()


@live
def test_a_deactivated_person_is_refused(sso, live_server, teacher):
    teacher.is_active = False
    teacher.save()
    browser, page = sign_in_through(live_server, DISTRICT, sub="tamika-1", email=teacher.email, email_verified="true")
    assert page.status_code == 403
    assert "Your portal account is turned off" in page.text
    assert not is_signed_in(browser, live_server)


@live
def test_a_person_deactivated_after_signing_in_is_refused_and_signed_out(sso, live_server, teacher):
    first, _page = sign_in_through(live_server, DISTRICT, sub="tamika-1", email=teacher.email, email_verified="true")
    teacher.is_active = False
    teacher.save()
    assert not is_signed_in(first, live_server)
    again, page = sign_in_through(live_server, DISTRICT, sub="tamika-1", email=teacher.email, email_verified="true")
    assert page.status_code == 403
    assert "Your portal account is turned off" in page.text
    assert not is_signed_in(again, live_server)


@live
def test_a_token_signed_with_the_issuers_published_key_is_accepted_from_a_second_provider(sso, live_server, teacher):
    """The control for the next test: the twin differs from the rogue only by the key it signs with."""
    browser, page = sign_in_through(
        live_server, "Sign in with Twin", sub="tamika-1", email=teacher.email, email_verified="true"
    )
    assert page.status_code == 200
    assert is_signed_in(browser, live_server)


@live
def test_a_token_with_a_wrong_signature_is_refused(sso, live_server, teacher):
    browser, page = sign_in_through(
        live_server, "Sign in with Rogue", sub="tamika-1", email=teacher.email, email_verified="true"
    )
    assert page.status_code == 403
    assert "could not verify the answer from Rogue" in page.text
    assert not is_signed_in(browser, live_server)
    assert not SocialAccount.objects.exists()


@live
def test_a_token_issued_for_another_client_is_refused(sso, live_server, teacher):
    browser, page = sign_in_through(
        live_server, "Sign in with Mix-up", sub="tamika-1", email=teacher.email, email_verified="true"
    )
    assert page.status_code == 403
    assert "could not verify the answer from Mix-up" in page.text
    assert not is_signed_in(browser, live_server)
    assert not SocialAccount.objects.exists()
