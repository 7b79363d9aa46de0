"""Dashboard figures kept in the cache for a few minutes.

A dashboard counts over the whole district, so building it costs more as the district
grows; reading it back from the cache (Redis in production, shared by every app server)
does not. Each page says when its figures were counted. `figures_changed` starts a new
generation of a kind of figures, which retires every cached copy of it. (Survey figures
are not counted here: they are released in batches, see `surveys.models.Release`.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from django.core.cache import cache
from django.utils import timezone

FIGURES_SECONDS = 300
# Part of every key: raise it when the shape of kept figures changes, so a new release
# never reads a copy an older one kept.
FIGURES_VERSION = 3

T = TypeVar("T")


def _generation_key(kind: str) -> str:
    return f"figures:{kind}:generation"


def cached_figures(kind: str, parts: tuple[object, ...], build: Callable[[], T]) -> tuple[T, datetime]:
    """The figures `build` makes, and when they were made: from the cache when a copy of
    this kind, for these parts, is at most FIGURES_SECONDS old."""
    generation = cache.get(_generation_key(kind), 0)
    key = ":".join(["figures", f"v{FIGURES_VERSION}", kind, str(generation), *(str(part) for part in parts)])
    found = cache.get(key)
    if found is None:
        found = (build(), timezone.now())
        cache.set(key, found, FIGURES_SECONDS)
    return found


def figures_context() -> dict[str, int]:
    """What a page showing kept figures says about them: how long its markup is kept, and
    how often its figures are recounted."""
    return {"figures_seconds": FIGURES_SECONDS, "refresh_minutes": FIGURES_SECONDS // 60}


def figures_changed(kind: str) -> None:
    """Retire every cached copy of this kind of figures."""
    cache.add(_generation_key(kind), 0, None)
    cache.incr(_generation_key(kind))
