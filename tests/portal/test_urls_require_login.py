"""Every URL but the public ones sends an anonymous visitor to sign in."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

PUBLIC = {
    "healthz",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "admin:login",
    "showcases:calendar_feed",
}
SIGN_IN_PAGES = ("/accounts/login/", "/admin/login/")


def _sample(pattern: str) -> str:
    """A concrete path for a route or regex pattern."""
    path = re.sub(r"<int:\w+>", "1", pattern)
    path = re.sub(r"<(?:\w+:)?\w+>", "sample", path)
    path = re.sub(r"\(\?P<\w+>([^)|]+)(\|[^)]*)?\)", lambda m: m.group(1) if m.group(1).isalnum() else "1", path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern)


ALL_URLS = sorted(set(_walk(get_resolver().url_patterns)))


def test_the_walk_found_the_portal_urls():
    names = {name for name, _ in ALL_URLS}
    assert {"home", "healthz", "roster_import", "login", "admin:index"} <= names


@pytest.mark.parametrize(("name", "pattern"), [entry for entry in ALL_URLS if entry[0] not in PUBLIC])
def test_anonymous_visitor_is_sent_to_sign_in(client, name, pattern):
    path = _sample(pattern)
    response = client.get(path)
    assert response.status_code == 302, f"{name} {path} answered {response.status_code}"
    assert response.url.startswith(SIGN_IN_PAGES), f"{name} {path} redirected to {response.url}"


@pytest.mark.parametrize("path", ["/healthz", "/accounts/login/", "/accounts/password_reset/"])
def test_public_pages_open_without_sign_in(client, path):
    assert client.get(path).status_code == 200
