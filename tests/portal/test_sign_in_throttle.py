"""Failed sign-ins are counted per account, whatever it is called and wherever they come from;
past the limit each attempt waits a short, growing pause; the account's owner is not kept out."""

import os
import re
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.db import connection, connections
from django.db.models import F, Sum
from django.test import Client, RequestFactory
from django.utils import timezone

from portal.backends import SignInThrottle, client_ip, pause_after
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _attempt(client: Client, name: str, phrase: str = "wrong", **extra) -> int:
    return client.post(LOGIN, {"username": name, "password": phrase}, **extra).status_code


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _let_the_pause_pass(seconds: float) -> None:
    """Move every recorded failure back in time, as if `seconds` had gone by."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=seconds))


def _failures() -> int:
    return AccessAttempt.objects.aggregate(n=Sum("failures_since_start"))["n"] or 0


def test_failures_under_every_name_of_an_account_count_together(client, teacher, settings):
    names = ["teacher", " teacher ", teacher.email, teacher.email.upper(), f"  {teacher.email.title()}  "]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        assert _attempt(client, names[attempt % len(names)]) == 200
    # The account, not the typed text, has used up its free attempts: even the right
    # password under yet another spelling has to wait.
    response = client.post(LOGIN, {"username": "TEACHER@schools.example.org", "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "Try again in 2 seconds" in response.content.decode()
    assert not _signed_in(client)


def test_failures_from_many_addresses_count_for_the_same_account(client, teacher, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        assert _attempt(client, "teacher", REMOTE_ADDR=f"203.0.113.{number + 1}") == 200
    assert _attempt(client, "teacher", TEST_PASSWORD, REMOTE_ADDR="198.51.100.7") == 429


def test_the_right_password_after_the_pause_signs_in(client, teacher, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "teacher")
    assert _attempt(client, "teacher", TEST_PASSWORD) == 429
    _let_the_pause_pass(2)
    response = client.post(LOGIN, {"username": "teacher", "password": TEST_PASSWORD})
    assert response.status_code == 302 and _signed_in(client)
    # A success clears the count.
    assert not AccessAttempt.objects.exists()


def test_each_failure_past_the_limit_doubles_the_pause_up_to_the_longest(client, teacher, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "teacher")
    waits = []
    for _ in range(4):
        refused = client.post(LOGIN, {"username": "teacher", "password": "wrong"})
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        _let_the_pause_pass(waits[-1])
        assert _attempt(client, "teacher") == 200
    assert waits == [2, 4, 8, 16]
    AccessAttempt.objects.update(failures_since_start=10_000)
    longest = settings.LOGIN_LONGEST_PAUSE.total_seconds()
    assert 0 < int(client.post(LOGIN, {"username": "teacher", "password": "x"})["Retry-After"]) <= longest
    assert pause_after(10**9) == settings.LOGIN_LONGEST_PAUSE


def test_attempts_refused_during_the_pause_do_not_lengthen_it(client, teacher, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "teacher")
    for _ in range(10):
        assert _attempt(client, "teacher") == 429
    assert _failures() == settings.AXES_FAILURE_LIMIT
    _let_the_pause_pass(2)
    assert _attempt(client, "teacher", TEST_PASSWORD) == 302


def test_a_strangers_guesses_do_not_keep_the_owner_out_of_their_usual_browser(teacher, settings):
    owner = Client()
    assert _attempt(owner, "teacher", TEST_PASSWORD) == 302
    owner.post("/accounts/logout/")
    stranger = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(stranger, teacher.email)
    assert _attempt(stranger, teacher.email, TEST_PASSWORD) == 429
    # Same name, same address, right away: the browser that signed in before has its own count.
    assert _attempt(owner, teacher.email, TEST_PASSWORD) == 302
    assert _signed_in(owner)


def test_a_forged_browser_cookie_earns_no_count_of_its_own(client, teacher, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "teacher")
    client.cookies["portal_browser"] = "0123456789abcdef.0123456789abcdef01234567:forged"
    assert _attempt(client, "teacher", TEST_PASSWORD) == 429


def test_a_colleague_behind_the_same_address_is_not_paused(client, teacher, principal, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 3):
        _attempt(client, "teacher")
    assert _attempt(client, "principal", TEST_PASSWORD) == 302


def test_a_name_with_no_account_is_paused_the_same_way(client, teacher, settings):
    """Otherwise the pause itself would tell which names are accounts."""
    pages = {}
    for name in ("teacher", "nobody-here"):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            assert _attempt(client, name) == 200
        refused = client.post(LOGIN, {"username": name, "password": "wrong"})
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", refused.content.decode())
        pages[name] = (refused.status_code, refused["Retry-After"], page.replace(name, "NAME"))
    assert pages["teacher"] == pages["nobody-here"]


def test_the_pause_page_keeps_the_name_and_offers_the_form(client, teacher, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "teacher")
    page = client.post(LOGIN, {"username": "teacher", "password": "wrong", "next": "/practices/"}).content.decode()
    assert 'value="teacher"' in page and 'value="/practices/"' in page
    assert "Your password was not checked" in page


# --- The client's address -----------------------------------------------------------------


def _request(remote: str = "10.0.0.5", forwarded: str | None = None):
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post(LOGIN, **extra)


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request("10.0.0.5", "203.0.113.9")) == "10.0.0.5"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        # The client wrote the left-most entries itself: only the proxies' entries count.
        (1, "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        (2, "1.2.3.4, 203.0.113.9, 10.1.1.1", "203.0.113.9"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
        # Too short a header or garbage: the connection's own address.
        (2, "203.0.113.9", "10.0.0.5"),
        (1, "not-an-address", "10.0.0.5"),
        (1, "", "10.0.0.5"),
    ],
)
def test_trusted_proxies_name_the_client(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(_request("10.0.0.5", forwarded)) == expected


def test_behind_a_load_balancer_failures_are_recorded_with_the_clients_address(client, teacher, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    _attempt(client, "teacher", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.9"]


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_a_bad_trusted_proxy_count_stops_start_up_naming_it(value):
    env = {key: val for key, val in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({"DJANGO_DEBUG": "true", "TRUSTED_PROXY_COUNT": value})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT" in result.stderr


# --- Simultaneous attempts (PostgreSQL) -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_simultaneous_attempts_past_the_limit_gets_one_guess(teacher, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the per-account lock is PostgreSQL's; SQLite runs one writer at a time anyway")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(Client(), "teacher")
    _let_the_pause_pass(2)
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def guess() -> None:
        try:
            barrier.wait()
            statuses.append(_attempt(Client(), "teacher"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] + [429] * 7
    assert _failures() == settings.AXES_FAILURE_LIMIT + 1


def test_below_the_limit_an_attempt_never_waits_for_a_simultaneous_one(teacher, settings):
    """Two sign-ins to one account at once: the one counted a moment after the other began
    must not make the other wait (it answered 429 with Retry-After: 1)."""
    settings.AXES_FAILURE_LIMIT = 5
    now = timezone.now()
    AccessAttempt.objects.create(
        username="teacher",
        ip_address="127.0.0.1",
        user_agent="a",
        attempt_time=now + timedelta(milliseconds=300),
        failures_since_start=1,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
    )
    assert SignInThrottle().seconds_to_wait("teacher", now) == 0
    AccessAttempt.objects.filter(username="teacher").update(failures_since_start=5)
    assert SignInThrottle().seconds_to_wait("teacher", now) > 0
