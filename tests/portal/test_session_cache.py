"""Sessions read from the shared cache (SESSION_CACHE, on with REDIS_URL): one query fewer on
every signed-in page, and signing out, idling out or losing the cache behave as before."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CACHED_DB = "django.contrib.sessions.backends.cached_db"
DB = "django.contrib.sessions.backends.db"


def _session_engine(overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "SESSION_CACHE"))
    }
    env.update({"DJANGO_DEBUG": "true", **overrides})
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'portal.settings'; django.setup();"
            " from django.conf import settings; print(settings.SESSION_ENGINE)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("overrides", "engine"),
    [
        ({}, DB),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, CACHED_DB),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0", "SESSION_CACHE": "false"}, DB),
    ],
)
def test_sessions_are_cached_only_in_a_shared_cache(overrides, engine):
    result = _session_engine(overrides)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == engine


def test_a_session_cache_without_redis_stops_start_up():
    result = _session_engine({"SESSION_CACHE": "true"})
    assert result.returncode != 0
    assert "SESSION_CACHE needs REDIS_URL" in result.stderr


@pytest.fixture
def cached_sessions(settings):
    settings.SESSION_ENGINE = CACHED_DB


def _signed_in(teacher) -> Client:
    client = Client()
    client.force_login(teacher)
    client.get("/notifications/")
    return client


def _queries(client: Client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_a_cached_session_spares_a_query_on_every_page(settings, teacher):
    settings.SESSION_ENGINE = DB
    from_database = _queries(_signed_in(teacher), "/notifications/")
    settings.SESSION_ENGINE = CACHED_DB
    from_cache = _queries(_signed_in(teacher), "/notifications/")
    assert any("django_session" in query for query in from_database)
    assert not any("django_session" in query for query in from_cache)
    assert len(from_cache) == len(from_database) - 1


def test_signing_out_ends_a_cached_session_for_every_holder_of_its_cookie(cached_sessions, settings, teacher):
    client = _signed_in(teacher)
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert stolen.get("/notifications/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    response = stolen.get("/notifications/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_cached_session_survives_the_cache_being_emptied(cached_sessions, teacher):
    client = _signed_in(teacher)
    cache.clear()
    assert client.get("/notifications/").status_code == 200


def test_a_deactivated_person_with_a_cached_session_is_signed_out(cached_sessions, teacher):
    client = _signed_in(teacher)
    teacher.is_active = False
    teacher.save()
    assert client.get("/notifications/").status_code == 302
