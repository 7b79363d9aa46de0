"""Results of costly reads kept in the cache until a table they read is written.

Each table has a generation in the cache, which moves on once a write to it is visible to
others: after the statement, outside a transaction, or when its transaction commits. The
write watcher of `portal.lib.kept_pages` sees every write made through a database connection
(the ORM, `update()`, raw SQL, jobs and commands alike) and names the tables it writes; a write
it cannot name the tables of (DDL, TRUNCATE, a stored procedure, a bulk COPY told by its
caller without them) moves every table's generation on at once.

A kept result's key holds the SQL it was read with (its parameters too, so the reader's rights
and filters are part of it) and the generations of every table that SQL names, read before the
result is. A result read while a write commits is kept under the generations before it, which
are never read again, so no reader is served a result older than what the tables hold. A reader
whose own transaction has written reads afresh and keeps nothing: what it sees is not yet
anyone else's.

Results are kept as pages are (`KEPT_PAGES`): only with a cache every process that writes
shares, or in a single process.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

T = TypeVar("T")

# Part of every key: raise it when what a kept result holds changes shape.
KEPT_RESULTS_VERSION = 1
TABLE_KEY = "kept-results:table:"
# The generation every table has besides its own: moved by a write whose tables are not known.
EVERY_TABLE_KEY = "kept-results:every-table"
_QUOTED = re.compile(r'"([A-Za-z0-9_]+)"')


@lru_cache(maxsize=1)
def _table_names() -> frozenset[str]:
    """The tables of every model, many-to-many tables included."""
    return frozenset(model._meta.db_table for model in apps.get_models(include_auto_created=True))


def tables_named(sql: str) -> frozenset[str]:
    """The tables `sql` names (Django quotes every table it names): those a result read with it
    may depend on. A quoted name that is no model's table (a column, an alias) is left out."""
    return frozenset(_QUOTED.findall(sql)) & _table_names()


def _bare(table: str) -> str:
    return table.split(".")[-1].strip('"')


def move_on(key: str) -> None:
    """Move the generation kept under `key` on."""
    try:
        cache.incr(key)
    except ValueError:  # not in the cache (emptied, evicted): start a new one, from the clock
        cache.set(key, time.time_ns(), None)


def tables_changed(tables: Iterable[str] | None) -> None:
    """Move the generations of `tables` on (None: of every table)."""
    for key in [EVERY_TABLE_KEY] if tables is None else [TABLE_KEY + _bare(table) for table in tables]:
        move_on(key)


class _TablesCommitted:
    """Registered once per transaction that writes: moves its tables' generations on when it
    commits (the transaction's writes are visible from then on)."""

    def __init__(self) -> None:
        self.tables: set[str] | None = set()
        # What a failing on_commit callback is named by in the log.
        self.__qualname__ = type(self).__qualname__

    def add(self, tables: Iterable[str] | None) -> None:
        if tables is None or self.tables is None:
            self.tables = None
        else:
            self.tables.update(_bare(table) for table in tables)

    def __call__(self) -> None:
        tables_changed(self.tables)


def _pending(connection: BaseDatabaseWrapper) -> _TablesCommitted | None:
    for entry in connection.run_on_commit:
        if isinstance(entry[1], _TablesCommitted):
            return entry[1]
    return None


def tables_written(connection: BaseDatabaseWrapper, tables: Iterable[str] | None) -> None:
    """Say that `connection` has written `tables` (None: tables not known). Their generations move
    on once the write is visible: now, outside a transaction, or when the transaction commits."""
    if not connection.in_atomic_block:
        tables_changed(tables)
        return
    pending = _pending(connection)
    if pending is None:
        pending = _TablesCommitted()
        # robust: a cache failing at that moment must not stop the transaction's own work.
        transaction.on_commit(pending, using=connection.alias, robust=True)
    pending.add(tables)


def _generations(tables: frozenset[str]) -> tuple[tuple[str, int], ...]:
    keys = [EVERY_TABLE_KEY, *(TABLE_KEY + table for table in sorted(tables))]
    found: dict[str, int] = cache.get_many(keys)
    for key in keys:
        if key not in found:
            # Started from the clock, so a cache emptied or restarted never comes back to a
            # generation a result may still be kept under.
            cache.add(key, time.time_ns(), None)
            found[key] = cache.get(key, 0)
    return tuple((key, int(found[key])) for key in keys)


def kept_result(
    using: str, sql: str, params: Iterable[Any], parts: tuple[Any, ...], read: Callable[[], T], seconds: int
) -> T:
    """What `read` returns, from the cache when it was read before with the same `sql`, `params`
    and `parts` (whatever else the result depends on) and no table `sql` names was written since.
    `read` must read only those tables. A result of None is never kept."""
    connection = connections[using]
    if not settings.KEPT_PAGES or (connection.in_atomic_block and _pending(connection) is not None):
        return read()
    generations = _generations(tables_named(sql))
    described = (
        KEPT_RESULTS_VERSION,
        tuple(connection.settings_dict.get(name) for name in ("HOST", "PORT", "NAME")),
        sql,
        tuple(params),
        parts,
        generations,
    )
    key = "kept-results:" + hashlib.sha256(repr(described).encode()).hexdigest()
    found: T | None = cache.get(key)
    if found is not None:
        return found
    result = read()
    if result is not None:
        cache.set(key, result, seconds)
    return result
