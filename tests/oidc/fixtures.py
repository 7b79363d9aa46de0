"""Fixtures that start tests/oidc/provider.js and sign in through it, as a browser would.

`openid_provider` starts the provider once per session on free loopback ports, with clients
registered for the live server's return addresses, waits until each instance's discovery document
answers, and stops it afterwards. It runs three instances:

- `district`, the district's provider, which also serves a client whose ID tokens it reissues,
  correctly signed, for another client (the wrong audience);
- `twin`, a second provider whose discovery document sends the portal to the district's published
  keys and which signs with the district's key: its tokens verify;
- `rogue`, the same but signing with a key of its own under the district key's id: its tokens do not.

Without node or the `oidc-provider` package (`npm ci` in tests/oidc) the tests that use it are
skipped, except under CI=true, where they fail. Test modules import the fixtures they use.
"""

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from portal.sso import config as sso_config

OIDC_DIR = Path(__file__).resolve().parent
SECRET = "portal-test-client-secret-0123456789abcdef"
DISTRICT = "Sign in with District ID"


def oidc_environ(**overrides: str) -> dict[str, str]:
    """The environment of a deployment using the OpenID Connect preset."""
    return {
        "SSO_OIDC_NAME": "District ID",
        "SSO_OIDC_ISSUER": "https://id.district.example/",
        "SSO_OIDC_CLIENT_ID": "portal",
        "SSO_OIDC_CLIENT_SECRET": SECRET,
        **overrides,
    }


@dataclass(frozen=True)
class OpenIDProvider:
    ports: dict[str, int]

    def issuer(self, instance: str) -> str:
        return f"http://127.0.0.1:{self.ports[instance]}"


def _missing_provider() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return "the oidc-provider package is not installed (npm ci in tests/oidc)"
    return None


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _wait_for_discovery(process: subprocess.Popen, issuers: list[str], log: Path) -> None:
    deadline = time.monotonic() + 30
    for issuer in issuers:
        while True:
            if process.poll() is not None:
                pytest.fail(f"the OpenID provider stopped: {log.read_text()}")
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the OpenID provider did not answer at {issuer}: {log.read_text()}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def openid_provider(live_server, tmp_path_factory) -> Iterator[OpenIDProvider]:
    missing = _missing_provider()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}, and the single sign-on tests need it under CI")
        pytest.skip(missing)
    provider = OpenIDProvider(dict(zip(["district", "twin", "rogue"], _free_ports(3), strict=True)))

    def client(client_id: str, provider_id: str, **extra: str) -> dict[str, object]:
        callback = f"{live_server.url}/accounts/oidc/{provider_id}/login/callback/"
        return {"client_id": client_id, "client_secret": SECRET, "redirect_uris": [callback], **extra}

    config = {
        "instances": [
            {
                "name": "district",
                "port": provider.ports["district"],
                "signing_key": "district",
                "clients": [
                    client("portal", "district"),
                    client("portal-mixup", "mixup", id_token_audience="another-client"),
                    client("another-client", "another"),
                ],
            },
            {
                "name": "twin",
                "port": provider.ports["twin"],
                "signing_key": "district",
                "jwks_from": "district",
                "clients": [client("portal", "twin")],
            },
            {
                "name": "rogue",
                "port": provider.ports["rogue"],
                "signing_key": "rogue",
                "jwks_from": "district",
                "clients": [client("portal", "rogue")],
            },
        ]
    }
    folder = tmp_path_factory.mktemp("oidc")
    (folder / "provider.json").write_text(json.dumps(config))
    log = folder / "provider.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(shutil.which("node")), str(OIDC_DIR / "provider.js"), str(folder / "provider.json")],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_discovery(process, [provider.issuer(name) for name in provider.ports], log)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def sso(settings, openid_provider) -> OpenIDProvider:
    """The district's provider configured as a deployment would (SSO_OIDC_*), and three more apps
    of the same preset for the twin, the rogue and the client whose tokens go to another."""
    environ = oidc_environ(SSO_OIDC_ISSUER=openid_provider.issuer("district"))
    providers = sso_config.from_environment(environ).providers
    providers["openid_connect"]["APPS"] += [
        sso_config.openid_connect_app("twin", "Twin", openid_provider.issuer("twin"), "portal", SECRET),
        sso_config.openid_connect_app("rogue", "Rogue", openid_provider.issuer("rogue"), "portal", SECRET),
        sso_config.openid_connect_app("mixup", "Mix-up", openid_provider.issuer("district"), "portal-mixup", SECRET),
    ]
    settings.SOCIALACCOUNT_PROVIDERS = providers
    return openid_provider


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    button: str = ""


class _Forms(HTMLParser):
    """The forms of a page, as a browser would send them: action, fields and the button's text."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append(Form((attributes.get("method") or "get").lower(), attributes.get("action") or ""))
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1].fields[str(attributes["name"])] = attributes.get("value") or ""
        elif tag == "button":
            self._in_button = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._in_button and self.forms:
            self.forms[-1].button += data.strip()


def form_with_button(page: str, button: str) -> Form:
    parser = _Forms()
    parser.feed(page)
    found = [form for form in parser.forms if form.button == button]
    assert len(found) == 1, f"{len(found)} forms with a {button!r} button"
    return found[0]


def sign_in_through(
    live_server, button: str, *, start: str = "/", **claims: str
) -> tuple[requests.Session, requests.Response]:
    """Open `start`, press `button` on the sign-in page it sends to, sign in at the provider as
    `claims` say, and follow the redirects back: the browser and the page it ends on."""
    browser = requests.Session()
    page = browser.get(live_server.url + start)
    form = form_with_button(page.text, button)
    at_provider = browser.post(urljoin(page.url, form.action), data=form.fields)
    assert "/interaction/" in at_provider.url, f"{at_provider.status_code} {at_provider.url}: {at_provider.text[:300]}"
    return browser, browser.post(f"{at_provider.url}/login", data=claims)


def is_signed_in(browser: requests.Session, live_server) -> bool:
    return browser.get(f"{live_server.url}/", allow_redirects=False).status_code == 200
