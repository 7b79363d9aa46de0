"""Dashboard figures kept in the cache for a few minutes.

A dashboard counts over the whole district, so building it costs more as the district
grows; reading it back from the cache (Redis in production, shared by every app server)
does not. Each page says when its figures were counted. `figures_changed` starts a new
generation of a kind of figures, which retires every cached copy of it. (Survey figures
are not counted here: they are released in batches, see `surveys.models.Release`.)

Figures a worker can count (a page passes `recount`, a module-level function of the parts)
are recounted by a job once their copy is FIGURES_SECONDS old: meanwhile readers are shown
the copy they have, with its time, so no reader waits for the count. This needs the workers
and the pages to share the cache (Redis); with each process keeping its own, or without
`recount`, the page that finds the copy too old counts the figures itself, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend

from portal.jobs import enqueue_on_commit
from portal.lib.kept_pages import pages_changed

FIGURES_SECONDS = 300
# How long a copy is kept at all: past FIGURES_SECONDS it is shown only while a worker counts
# the figures again, and a copy this old is counted afresh by the page (no worker answered).
FIGURES_KEPT_SECONDS = 3600
# Part of every key: raise it when the shape of kept figures changes, so a new release
# never reads a copy an older one kept.
FIGURES_VERSION = 4

T = TypeVar("T")
# The parts of figures a worker counts again are given to it as they are: plain values.
Part = int | str | None


def _generation_key(kind: str) -> str:
    return f"figures:{kind}:generation"


def _key(kind: str, parts: tuple[object, ...]) -> str:
    generation = cache.get(_generation_key(kind), 0)
    return ":".join(["figures", f"v{FIGURES_VERSION}", kind, str(generation), *(str(part) for part in parts)])


def _counted(key: str, figures: T) -> tuple[T, datetime]:
    found = (figures, timezone.now())
    cache.set(key, found, FIGURES_KEPT_SECONDS)
    pages_changed()
    return found


def _recounted_where_pages_read() -> bool:
    """Whether a job's count reaches the pages: it runs in this process (the immediate
    backend), or its process shares the cache with them (not a per-process memory cache)."""
    return isinstance(figures_recount.get_backend(), ImmediateBackend) or not isinstance(caches["default"], LocMemCache)


def cached_figures(
    kind: str,
    parts: tuple[object, ...],
    build: Callable[[], T],
    *,
    recount: Callable[..., T] | None = None,
) -> tuple[T, datetime]:
    """The figures `build` makes, and when they were made: from the cache when a copy of
    this kind, for these parts, is at most FIGURES_SECONDS old. An older copy is shown while a
    job counts the figures again with `recount(*parts)`, when there is one (see above): then
    the parts are plain values (Part), which the job is given."""
    key = _key(kind, parts)
    found = cache.get(key)
    if found is None:
        return _counted(key, build())
    age = timezone.now() - found[1]
    if age <= timedelta(seconds=FIGURES_SECONDS):
        return found
    if recount is None or not _recounted_where_pages_read():
        return _counted(key, build())
    plain: list[Part] = [part for part in parts if part is None or isinstance(part, int | str)]
    if len(plain) != len(parts):
        raise TypeError(f"The parts of {kind} figures a worker counts must be numbers, text or None: {parts!r}")
    # One job per copy at a time, however many readers find it old.
    if cache.add(f"{key}:recounting", True, FIGURES_SECONDS):
        result = enqueue_on_commit(figures_recount, kind, plain, f"{recount.__module__}.{recount.__qualname__}")
        if result is not None and result.is_finished:
            return cache.get(key) or found
    return found


@task()
def figures_recount(kind: str, parts: list[Part], function: str) -> None:
    """Count a kind of figures again for a page (cached_figures), with the page's `recount` function."""
    recount: Callable[..., object] = import_string(function)
    key = _key(kind, tuple(parts))
    _counted(key, recount(*parts))
    cache.delete(f"{key}:recounting")


def figures_context() -> dict[str, int]:
    """What a page showing kept figures says about them: how long its markup is kept, and
    how often its figures are recounted."""
    return {"figures_seconds": FIGURES_SECONDS, "refresh_minutes": FIGURES_SECONDS // 60}


def figures_changed(kind: str) -> None:
    """Retire every cached copy of this kind of figures."""
    cache.add(_generation_key(kind), 0, None)
    cache.incr(_generation_key(kind))
    pages_changed()
