"""Loading many rows at once, for the demo district at its largest scale.

Rows are plain tuples (building a model instance per row costs more than inserting it).
PostgreSQL takes them through COPY, one batch of text at a time; other databases through
`executemany`. Columns a caller does not name take their field's default, computed once
per batch, so NOT NULL columns without a database default are still filled.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from itertools import islice
from typing import Any, TypeVar

from django.core.management.color import no_style
from django.db import connection, connections, models, transaction
from django.db.models import Max
from django.utils import timezone

from portal.lib.kept_pages import content_written, pages_changed

T = TypeVar("T")

# COPY's text format: these characters are written as escapes, NULL as \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of at most `size`, so a long stream is never held whole."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def next_id(model: type[models.Model]) -> int:
    """The first primary key after every row of `model`: rows inserted with explicit keys from
    here on collide with none (call `reset_sequences` after inserting them)."""
    return int(model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


def reset_sequences(*tables: type[models.Model]) -> None:
    """Let the database hand out keys after the ones given explicitly (PostgreSQL's sequences;
    SQLite follows the largest key on its own)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(tables))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def _default(field: models.Field[Any, Any]) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    return field.get_default()


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (tuples of the fields named by `columns`, by attribute name: `school_id`)
    into `model`'s table; returns how many. The primary key is generated unless named."""
    fields = {field.attname: field for field in model._meta.concrete_fields}
    unknown = [name for name in columns if name not in fields]
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {unknown}")
    rest = [field for name, field in fields.items() if name not in columns and not field.primary_key]
    table = connection.ops.quote_name(model._meta.db_table)
    # A concrete field always has its column (typed as optional for the others).
    names = ", ".join(
        connection.ops.quote_name(str(fields[name].column)) for name in [*columns, *(f.attname for f in rest)]
    )
    rows = list(rows)
    if not rows:
        return 0
    defaults = tuple(_default(field) for field in rest)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tail = "".join("\t" + _copy_text(value) for value in defaults) + "\n"
            text = io.StringIO("".join("\t".join(map(_copy_text, row)) + tail for row in rows))
            # psycopg2's cursor, under Django's wrapper.
            cursor.cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN", text)
            # COPY goes past the connection's wrappers, which see every other write.
            pages_changed()
            content_written(connection, [model._meta.db_table])
        else:
            ordered = [fields[name] for name in columns] + rest
            placeholders = ", ".join(["%s"] * len(ordered))
            # Names quoted from the model, never from input; the values go as parameters.
            statement = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608  # nosec B608
            cursor.executemany(
                statement,
                [
                    tuple(
                        field.get_db_prep_save(value, connection)
                        for field, value in zip(ordered, (*row, *defaults), strict=True)
                    )
                    for row in rows
                ],
            )
    return len(rows)


@contextmanager
def indexes_set_aside(model: type[models.Model], definitions: dict[str, str]) -> Iterator[None]:
    """On PostgreSQL, drop `model`'s indexes (name: its CREATE INDEX IF NOT EXISTS statement)
    while rows are loaded and build them afterwards, also if loading fails or after a load that
    was stopped (the next load builds them): one build over every row costs far less than
    keeping a full-text index up to date row by row. Only outside a transaction (PostgreSQL
    builds no index on a table with foreign-key checks still pending in it); elsewhere,
    nothing changes."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        for name in definitions:
            cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for definition in definitions.values():
                cursor.execute(definition)
            cursor.execute("RESET maintenance_work_mem")


class BatchWriter:
    """Writes batches (callables, each run in its own transaction) as they are drawn.

    On PostgreSQL, outside any transaction, `threads` threads with a connection each write
    them, so the database works through batches (on every core it has) while this process
    draws the next. Elsewhere, or inside a transaction (whose rows another connection could
    not see), each batch is written here and now. At most `threads` batches wait, so memory
    stays bounded."""

    def __init__(self, threads: int = 2) -> None:
        background = connection.vendor == "postgresql" and not connection.in_atomic_block
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=threads)
        self._errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._run, name=f"bulkload-{n}", daemon=True)
            for n in range(threads if background else 0)
        ]

    def __enter__(self) -> BatchWriter:
        for thread in self._threads:
            thread.start()
        return self

    def _run(self) -> None:
        try:
            while (write := self._queue.get()) is not None:
                if not self._errors:
                    try:
                        with transaction.atomic():
                            write()
                    except BaseException as error:  # handed to the drawing thread, raised there
                        self._errors.append(error)
        finally:
            connections.close_all()

    def write(self, batch: Callable[[], None]) -> None:
        if self._errors:
            raise self._errors[0]
        if not self._threads:
            with transaction.atomic():
                batch()
        else:
            self._queue.put(batch)

    def __exit__(self, *exc_info: object) -> None:
        for _thread in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]
