"""Strict parsing of environment variables for settings.

A bad value stops start-up with an error that names the variable, instead of
silently falling back to a default that may be unsafe in production.
"""

import os
import re
from collections.abc import Mapping
from typing import overload

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@overload
def env_str(name: str, default: str, environ: Mapping[str, str] = ...) -> str: ...
@overload
def env_str(name: str, default: None = None, environ: Mapping[str, str] = ...) -> str | None: ...
def env_str(name: str, default: str | None = None, environ: Mapping[str, str] = os.environ) -> str | None:
    value = environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    value = env_str(name, environ=environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false, yes/no, on/off, 1/0; got {value!r}.")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] = os.environ,
) -> int:
    """A whole number; `maximum` keeps values that later become dates, sizes or ports
    within what Python and the database can hold (a huge session age overflows a date)."""
    value = env_str(name, environ=environ)
    if value is None:
        return default
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", value):
        raise ImproperlyConfigured(f"{name} must be a whole number; got {value[:40]!r}.")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {number}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}; got {number}.")
    return number


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    value = env_str(name, environ=environ)
    if value is None:
        return default
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(f"{name} must be a comma-separated list with no empty items; got {value!r}.")
    return items


def env_choice(name: str, default: str, choices: list[str], environ: Mapping[str, str] = os.environ) -> str:
    value = env_str(name, environ=environ)
    if value is None:
        return default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
    return value


def env_url(name: str, default: str, schemes: tuple[str, ...], environ: Mapping[str, str] = os.environ) -> str:
    value = env_str(name, environ=environ)
    if value is None:
        return default
    if not value.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        raise ImproperlyConfigured(f"{name} must start with {' or '.join(s + '://' for s in schemes)}; got {value!r}.")
    return value
