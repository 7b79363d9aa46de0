"""Ways a kept page (portal/lib/kept_pages.py) could outlive what it shows: writes the content
generation misses or moves on too early, and settings that keep pages where a write is unseen.

Each test failed before its fix."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.test import Client
from django.urls import reverse

from portal.lib.bulkload import insert_rows
from portal.lib.kept_pages import KeptPage, generation, writes_content
from portal.models import School
from practices.models import Practice, Visibility
from tests.factories import PracticeFactory

ROOT = Path(__file__).resolve().parents[2]
LIST = "/practices/"


@pytest.fixture(autouse=True)
def _kept_pages_on(settings):
    settings.KEPT_PAGES = True


def seen_twice(client: Client, path: str = LIST):
    client.get(path)  # a first page of a new session may change the session; not kept
    first = client.get(path)
    return first, client.get(path)


class ReaderDuringTheWrite:
    """A database wrapper placed inside the portal's own: while the first statement that
    `matches` is about to run (the portal has already seen it), another reader's request is
    served, as a request of another thread or process is while a write runs (a large UPDATE,
    or one waiting for a row lock)."""

    def __init__(self, client: Client, path: str, matches: str) -> None:
        self.client, self.path, self.matches = client, path, matches
        # The page served meanwhile (a test client's response).
        self.page: Any = None

    def __call__(self, execute, sql, params, many, context):
        if self.page is None and sql.startswith(self.matches):
            self.page = self.client.get(self.path)
        return execute(sql, params, many, context)


# --- A page drawn while a write outside any transaction runs ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_list_drawn_while_a_practice_is_made_school_only_is_not_served_afterwards(as_user, teacher, other_teacher):
    practice = PracticeFactory(author=other_teacher, title="Exit tickets every Friday")
    client = as_user(teacher)
    seen_twice(client)
    reader = ReaderDuringTheWrite(client, LIST, 'UPDATE "practices_practice"')
    with connection.execute_wrapper(reader):
        # Outside any transaction (autocommit), as update() and save() run.
        Practice.objects.filter(pk=practice.pk).update(visibility=Visibility.SCHOOL)
    assert reader.page is not None and practice.title in reader.page.content.decode()
    # Another school's entry, now kept in its school: no longer in this teacher's list.
    assert practice.title not in client.get(LIST).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_practice_page_drawn_while_its_author_goes_anonymous_does_not_name_them_afterwards(
    as_user, teacher, other_teacher
):
    practice = PracticeFactory(author=other_teacher, title="Exit tickets every Friday")
    path = reverse("practices:detail", args=[practice.pk])
    client = as_user(teacher)
    seen_twice(client, path)
    practice.anonymous = True
    reader = ReaderDuringTheWrite(client, path, 'UPDATE "practices_practice"')
    with connection.execute_wrapper(reader):
        practice.save(update_fields=["anonymous"])
    assert reader.page is not None and "Yamamoto" in reader.page.content.decode()
    page = client.get(path)
    assert not isinstance(page, KeptPage)
    assert "Yamamoto" not in page.content.decode()


# --- A connection opened under another execute wrapper ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_connection_first_opened_under_another_execute_wrapper_still_moves_the_generation(other_teacher):
    practice = PracticeFactory(author=other_teacher, title="Exit tickets every Friday")

    def passing_through(execute, sql, params, many, context):
        return execute(sql, params, many, context)

    # A second connection to the same database, as another thread or a new request has.
    fresh = connection.copy()
    try:
        with fresh.execute_wrapper(passing_through), fresh.cursor() as cursor:
            cursor.execute("SELECT 1")  # opens the connection: the portal's watcher is added
        before = generation()
        with fresh.cursor() as cursor:
            cursor.execute('UPDATE "practices_practice" SET "visibility" = %s WHERE "id" = %s', ["school", practice.pk])
        assert generation() > before
    finally:
        fresh.close()


# --- The cache failing at a commit ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_cache_failure_at_commit_does_not_drop_the_transactions_own_commit_work(other_teacher, monkeypatch):
    practice = PracticeFactory(author=other_teacher, title="Exit tickets every Friday")
    done = []

    def cache_down(*args, **kwargs):
        raise ConnectionError("the cache does not answer")

    # Undone before the test's database is emptied (that writes too).
    with monkeypatch.context() as patched, transaction.atomic():
        Practice.objects.filter(pk=practice.pk).update(title="Exit tickets on Mondays")
        transaction.on_commit(lambda: done.append("e-mail sent"))
        patched.setattr(caches["default"], "incr", cache_down)
    assert done == ["e-mail sent"]
    assert Practice.objects.get(pk=practice.pk).title == "Exit tickets on Mondays"


# --- COPY in a transaction ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="rows are copied on PostgreSQL only")
def test_rows_copied_in_a_transaction_move_the_generation_again_when_it_commits():
    with transaction.atomic():
        insert_rows(
            School,
            ("name", "slug", "level", "enrollment", "frl_percent", "locale"),
            [("Copied Elementary", "copied-elementary", "elementary", 100, 10, "city")],
        )
        at_copy = generation()
    assert generation() > at_copy


# --- Which statements count as writes -------------------------------------------------------------


def test_django_flush_on_postgresql_counts_as_a_write_whatever_table_comes_first():
    """`manage.py flush` (and every transactional test case) empties PostgreSQL's tables with one
    TRUNCATE naming them all, in the order of a set of names: a bookkeeping table may come first."""
    statements = PostgresOperations(connection).sql_flush(
        no_style(), ["django_session", "practices_practice"], reset_sequences=True, allow_cascade=True
    )
    assert any(writes_content(statement) for statement in statements)


def _misread(sql: str, reason: str):
    """A shape once read as a read, and why."""
    return pytest.param(sql, id=reason)


@pytest.mark.parametrize(
    "sql",
    [
        _misread('TRUNCATE "django_session", "practices_practice"', "only the first table of a TRUNCATE is looked at"),
        _misread(
            'TRUNCATE "axes_accesslog", "practices_practice", "portal_user" RESTART IDENTITY CASCADE;',
            "only the first table of a TRUNCATE is looked at (Django's flush shape)",
        ),
        _misread(
            'EXPLAIN ANALYZE UPDATE "practices_practice" SET "visibility" = %s',
            "EXPLAIN ANALYZE runs the statement it explains, yet EXPLAIN counts as a read",
        ),
        _misread(
            'EXPLAIN (ANALYZE, BUFFERS) DELETE FROM "practices_practice" WHERE "id" = %s',
            "EXPLAIN ANALYZE runs the statement it explains, yet EXPLAIN counts as a read",
        ),
        _misread(
            'WITH chosen AS (SELECT 1 AS id) INSERT OR REPLACE INTO "practices_practice" ("id") SELECT id FROM chosen',
            "within WITH only INSERT INTO, UPDATE, DELETE FROM and MERGE INTO are looked for: SQLite's "
            "INSERT OR REPLACE (or IGNORE) passes as a read (without WITH it counts)",
        ),
        _misread(
            'WITH chosen AS (SELECT 1 AS id) REPLACE INTO "practices_practice" ("id") SELECT id FROM chosen',
            "within WITH, SQLite's REPLACE INTO passes as a read (without WITH it counts)",
        ),
        _misread(
            'SELECT 1; DELETE FROM "practices_practice"',
            "a read then a write in one execute (psycopg runs both) passes as a read",
        ),
        # Held: the shapes Django and the portal emit today.
        'INSERT OR IGNORE INTO "practices_practice" ("id") VALUES (%s)',
        'INSERT INTO "practices_practice" ("id") VALUES (%s) ON CONFLICT ("id") DO UPDATE SET "title" = EXCLUDED."title"',
        'INSERT INTO "insights_flowday" ("kind", "day") SELECT %s, %s',
        'UPDATE "portal_user" SET "is_active" = %s WHERE "portal_user"."id" IN (SELECT U0."id" FROM "portal_user" U0)',
        "/* a comment first */ UPDATE portal_user SET is_active = false",
        'WITH s AS (UPDATE "django_session" SET "expire_date" = %s) DELETE FROM "practices_comment"',
    ],
)
def test_statements_that_write_count_as_writes(sql):
    assert writes_content(sql)


# --- Settings ---------------------------------------------------------------------------------------


def test_kept_pages_are_off_by_default_when_a_worker_process_writes_without_a_shared_cache():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "KEPT_PAGES", "JOBS_BACKEND"))
    }
    env.update({"DJANGO_DEBUG": "true", "JOBS_BACKEND": "database"})
    started = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.KEPT_PAGES)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 0, started.stderr
    # The shell's last line (it may first say what it imported).
    assert started.stdout.strip().splitlines()[-1] == "False"
