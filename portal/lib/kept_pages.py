"""Whole pages kept for the reader who asked for them, until anything in the district changes.

A signed-in reader who asks again for a page they were just shown (the list after a practice,
the home page after the showcase list) gets the page as it was drawn for them, from the
cache, instead of drawing it again: no query of the view's, no template. A kept page is
served only when all of these are the same as when it was drawn:

- the reader's session, CSRF cookie and account (a page is never served to anyone else, nor
  after signing in again);
- the address (path and parameters) and the host;
- the minute (pages show "today", "upcoming" and times ago; nothing is kept past a minute; each
  session's minute starts at a second of its own);
- the district's **content generation**, which moves on every write to the database (an
  INSERT, UPDATE, DELETE or COPY on any table but the bookkeeping ones below, seen by a
  wrapper on every database connection, so no write path can forget it: the ORM, `update()`,
  bulk loads, raw SQL, jobs and commands alike), on every change of cached figures
  (`portal.lib.figures`) and on every change of settings (tests). It moves when the write is
  made and again when its transaction commits, so a page drawn in between is not kept. The
  same watcher names the tables each write writes, whose own generations keep a search's
  results (`portal.lib.kept_results`).

A page is not kept when the view answered anything but 200, said not to (`not_kept`), set a
cookie, changed the session, or wrote to the database while drawing it (its key was of the
generation before the write), or when the reader has messages waiting (they are shown once). The views that opt in
(`kept_page`) are the hot reading pages; pages with forms in progress, downloads and status
pages do not. `KEPT_PAGES=false` turns it off. It needs the cache to be shared by every process
that writes (Redis, `REDIS_URL`) or a single process (development, tests): `settings.py` keeps
it off for several processes with a cache each.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.session import SessionStorage
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from portal.lib.kept_results import move_on, tables_written

GENERATION_KEY = "kept-pages:generation"
# Part of every page's key: raise it when what a kept page holds changes shape.
KEPT_PAGES_VERSION = 1
KEPT_SECONDS = 60
# Pages asked for with a longer address (parameters of hundreds of characters), or larger than
# this, are drawn each time: a reader does not ask for them again, and they would fill the cache.
KEPT_ADDRESS_CHARS = 500
KEPT_PAGE_BYTES = 1_000_000

# Tables written on reading, whose rows no kept page shows: sessions (a sliding expiry, the
# messages waiting are checked apart), the sign-in guard's records and the job queue's rows.
BOOKKEEPING_TABLES = re.compile(r'^"?(django_session|axes_\w+|django_tasks_\w+)"?$')
_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|MERGE\s+INTO)\s+("?[\w.]+"?)', re.IGNORECASE)
# A statement with common table expressions writes when any of its parts does.
_WITH = re.compile(r"^\s*WITH\b", re.IGNORECASE)
_WRITE_WITHIN = re.compile(
    r'\b(INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+("?[\w.]+"?)', re.IGNORECASE
)
_READ_ONLY_START = re.compile(
    r"^[\s(]*(SELECT|VALUES|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|SET|SHOW|PRAGMA)\b", re.IGNORECASE
)
# More than one statement in one call (never sent by Django): counted as a write.
_SEVERAL_STATEMENTS = re.compile(r";\s*\S")


def generation() -> int:
    """The district's content generation (see the module's note)."""
    current = cache.get(GENERATION_KEY)
    if current is None:
        # Started from the clock, so a cache emptied or restarted never comes back to a
        # generation whose pages may still be kept.
        cache.add(GENERATION_KEY, time.time_ns(), None)
        current = cache.get(GENERATION_KEY, 0)
    return int(current)


def pages_changed() -> None:
    """Move the content generation on: no page kept so far is served again."""
    move_on(GENERATION_KEY)


def writes_content(sql: str) -> bool:
    """Whether a statement may change what a page shows: a write to any table but bookkeeping.
    Anything not plainly a read counts as a write (a stored procedure, DDL)."""
    return content_tables(sql) != []


def content_tables(sql: str) -> list[str] | None:
    """The tables but bookkeeping a statement writes (none for a read), or None when it cannot
    tell and counts as a write of every table (several statements, DDL, a stored procedure)."""
    if _SEVERAL_STATEMENTS.search(sql):
        return None
    if _READ_ONLY_START.match(sql):
        return []
    if _WITH.match(sql):
        written = [found.group(2) for found in _WRITE_WITHIN.finditer(sql)]
        return [table for table in written if not _bookkeeping(table)]
    found = _WRITE.match(sql)
    if found is None:
        return None
    return [] if _bookkeeping(found.group(2)) else [found.group(2)]


def _bookkeeping(table: str) -> bool:
    return BOOKKEEPING_TABLES.match(table.split(".")[-1]) is not None


def _after_commit() -> None:
    pages_changed()


def content_written(connection: BaseDatabaseWrapper, tables: Iterable[str] | None = None) -> None:
    """Say that `connection` has just written content to `tables` (None: tables not known; the
    watcher calls it after each write; call it after a write that goes past the connection's
    wrappers, such as COPY). A page drawn before the write became visible to others may have
    been kept meanwhile, under the generation then: the generation moves on once the write is
    visible — now, outside a transaction, or when the transaction commits (once per
    transaction). So do the generations of the tables written (`portal.lib.kept_results`)."""
    tables_written(connection, tables)
    if not connection.in_atomic_block:
        pages_changed()
    elif not any(entry[1] is _after_commit for entry in connection.run_on_commit):
        # robust: a cache failing at that moment must not stop the transaction's own work.
        transaction.on_commit(_after_commit, using=connection.alias, robust=True)


class _WriteWatcher:
    """Installed on each database connection: moves the generation on as a write starts (a page
    drawn from now on is not kept beyond it), and again once the write is visible."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        tables = content_tables(sql)
        if tables == []:
            return execute(sql, params, many, context)
        pages_changed()
        try:
            return execute(sql, params, many, context)
        finally:
            content_written(self.connection, tables)


def _watch(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    if not any(isinstance(wrapper, _WriteWatcher) for wrapper in connection.execute_wrappers):
        # First, not last: `connection.execute_wrapper()` blocks remove the last wrapper when they
        # end, and a connection opened within one would otherwise lose this one.
        connection.execute_wrappers.insert(0, _WriteWatcher(connection))


def _settings_changed(**kwargs: object) -> None:
    pages_changed()


def watch_writes() -> None:
    """Watch every database connection for writes (called once, when the portal app is ready)."""
    connection_created.connect(_watch, dispatch_uid="kept-pages-watch")
    setting_changed.connect(_settings_changed, dispatch_uid="kept-pages-settings")


def _messages_waiting(request: HttpRequest) -> bool:
    if request.COOKIES.get(CookieStorage.cookie_name):
        return True
    session = getattr(request, "session", None)
    return session is not None and SessionStorage.session_key in session


def minute(session_key: str) -> int:
    """The minute now, counted from the epoch: a kept page is served only within the minute it
    was drawn in. Each session's minutes start at a second of their own, so the pages of many
    readers are not all drawn again at the same moment."""
    offset = int(hashlib.sha256(session_key.encode()).hexdigest()[:8], 16) % 60
    return int((timezone.now().timestamp() + offset) // 60)


def _page_key(request: HttpRequest, current: int) -> str | None:
    session_key = request.session.session_key
    if not session_key:
        return None
    parts = (
        KEPT_PAGES_VERSION,
        current,
        minute(session_key),
        session_key,
        request.COOKIES.get(settings.CSRF_COOKIE_NAME, ""),
        request.user.pk,
        request.get_host(),
        request.is_secure(),
        request.get_full_path(),
    )
    return "kept-page:" + hashlib.sha256(repr(parts).encode()).hexdigest()


class KeptPage(HttpResponse):
    """A page served as it was kept."""


def _keepable(request: HttpRequest, response: HttpResponse) -> bool:
    # A page whose form holds a CSRF token made for a cookie the reader does not have yet: the
    # cookie is set on this answer only.
    new_csrf_cookie = "CSRF_COOKIE" in request.META and not request.COOKIES.get(settings.CSRF_COOKIE_NAME)
    return (
        not new_csrf_cookie
        and response.status_code == 200
        and not response.streaming
        and getattr(response, "is_rendered", True)
        and len(response.content) <= KEPT_PAGE_BYTES
        and not response.cookies
        and "no-store" not in response.get("Cache-Control", "")
    )


_KEPT_HEADERS: Sequence[str] = ("Content-Type", "Content-Language", "Cache-Control", "Vary", "Link")


_NOT_KEPT = "_kept_pages_refused"


def not_kept(request: HttpRequest) -> None:
    """Say that the page drawn for `request` must not be kept: it shows a passing state (a search
    stopped because the servers were busy), not the district's content."""
    setattr(request, _NOT_KEPT, True)


def kept_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Keep what `view` draws for a signed-in reader's GET (see the module's note)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if (
            not settings.KEPT_PAGES
            or request.method not in ("GET", "HEAD")
            or not request.user.is_authenticated
            or _messages_waiting(request)
            or len(request.get_full_path()) > KEPT_ADDRESS_CHARS
        ):
            return view(request, *args, **kwargs)
        current = generation()
        key = _page_key(request, current)
        if key is None:
            return view(request, *args, **kwargs)
        found = cache.get(key)
        if found is not None:
            content, headers = found
            kept = KeptPage(content)
            for name, value in headers:
                kept[name] = value
            return kept
        session_was_modified = request.session.modified
        response = view(request, *args, **kwargs)
        if (
            not getattr(request, _NOT_KEPT, False)
            and _keepable(request, response)
            and request.session.modified == session_was_modified
            and generation() == current
        ):
            headers = [(name, response[name]) for name in _KEPT_HEADERS if name in response]
            cache.set(key, (response.content, headers), KEPT_SECONDS)
        return response

    return wrapper
