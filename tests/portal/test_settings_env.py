import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.lib.env import env_bool, env_choice, env_int, env_list, env_url

ROOT = Path(__file__).resolve().parents[2]


def test_env_bool_accepts_common_spellings():
    assert env_bool("X", False, environ={"X": "Yes"}) is True
    assert env_bool("X", True, environ={"X": "off"}) is False
    assert env_bool("X", True, environ={}) is True


def test_env_bool_rejects_unknown_value_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG"):
        env_bool("DJANGO_DEBUG", False, environ={"DJANGO_DEBUG": "maybe"})


def test_env_int_rejects_text_and_values_below_minimum():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT must be a whole number"):
        env_int("EMAIL_PORT", 25, environ={"EMAIL_PORT": "twenty"})
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT must be at least 1"):
        env_int("EMAIL_PORT", 25, minimum=1, environ={"EMAIL_PORT": "0"})
    assert env_int("EMAIL_PORT", 25, environ={"EMAIL_PORT": " 587 "}) == 587


def test_env_list_splits_and_rejects_empty_items():
    assert env_list("HOSTS", [], environ={"HOSTS": "a.org, b.org"}) == ["a.org", "b.org"]
    with pytest.raises(ImproperlyConfigured, match="HOSTS"):
        env_list("HOSTS", [], environ={"HOSTS": "a.org,,b.org"})


def test_env_choice_and_url_name_the_variable():
    with pytest.raises(ImproperlyConfigured, match="LOG_LEVEL"):
        env_choice("LOG_LEVEL", "INFO", ["INFO", "DEBUG"], environ={"LOG_LEVEL": "LOUD"})
    with pytest.raises(ImproperlyConfigured, match="PORTAL_BASE_URL"):
        env_url("PORTAL_BASE_URL", "http://x", ("http", "https"), environ={"PORTAL_BASE_URL": "portal.org"})


def _start(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG"),
        ({"DJANGO_DEBUG": "false"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_DEBUG": "true", "DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"DJANGO_DEBUG": "true", "TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        ({"DJANGO_DEBUG": "true", "EMAIL_USE_TLS": "sometimes"}, "EMAIL_USE_TLS"),
    ],
)
def test_bad_environment_stops_start_up_naming_the_variable(overrides, named):
    result = _start(overrides)
    assert result.returncode != 0
    assert named in result.stderr


def test_good_environment_starts():
    result = _start(
        {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "x" * 60, "DJANGO_ALLOWED_HOSTS": "portal.example.org"}
    )
    assert result.returncode == 0, result.stderr


def test_env_int_refuses_values_past_its_maximum_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match="SESSION_IDLE_TIMEOUT_SECONDS must be at most 100"):
        env_int("SESSION_IDLE_TIMEOUT_SECONDS", 60, maximum=100, environ={"SESSION_IDLE_TIMEOUT_SECONDS": "101"})
    with pytest.raises(ImproperlyConfigured, match="must be a whole number"):
        env_int("SESSION_IDLE_TIMEOUT_SECONDS", 60, environ={"SESSION_IDLE_TIMEOUT_SECONDS": "9" * 5000})


def test_a_session_lifetime_past_the_calendar_stops_start_up():
    env = {**os.environ, "DJANGO_DEBUG": "true", "SESSION_IDLE_TIMEOUT_SECONDS": "9" * 15}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup()",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SESSION_IDLE_TIMEOUT_SECONDS must be at most" in result.stderr
