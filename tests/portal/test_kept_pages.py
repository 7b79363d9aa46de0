"""Whole pages kept for their reader (portal/lib/kept_pages.py): served again only to the same
session, for the same address, within the minute, while nothing in the district was written."""

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.lib import kept_pages
from portal.lib.figures import figures_changed
from portal.lib.kept_pages import KeptPage, generation, writes_content
from practices.models import Practice, Visibility
from tests.factories import PracticeFactory, TeacherFactory

LIST = "/practices/"


@pytest.fixture(autouse=True)
def _kept_pages_on(settings):
    settings.KEPT_PAGES = True


@pytest.fixture
def practice(other_teacher) -> Practice:
    return PracticeFactory(author=other_teacher, title="Exit tickets every Friday")


def seen_twice(client: Client, path: str = LIST):
    client.get(path)  # a first page of a new session may change the session; not kept
    first = client.get(path)
    return first, client.get(path)


def test_a_page_asked_for_again_is_served_as_kept_without_the_views_queries(as_user, teacher, practice):
    client = as_user(teacher)
    first, again = seen_twice(client)
    assert not isinstance(first, KeptPage)
    assert isinstance(again, KeptPage)
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    with CaptureQueriesContext(connection) as queries:
        client.get(LIST)
    # The session and the reader, nothing of the page's.
    assert len(queries) == 2
    assert not any("practices_practice" in query["sql"] for query in queries)


def test_another_reader_never_gets_a_page_kept_for_someone_else(as_user, teacher, school, practice):
    seen_twice(as_user(teacher))
    colleague = TeacherFactory(school=school, first_name="Ana", last_name="Lima")
    page = as_user(colleague).get(LIST)
    assert not isinstance(page, KeptPage)
    assert "Ana Lima" in page.content.decode()
    assert "Tamika Robinson" not in page.content.decode()


def test_signing_in_again_draws_the_page_afresh(as_user, teacher, practice):
    seen_twice(as_user(teacher))
    assert not isinstance(as_user(teacher).get(LIST), KeptPage)


def test_each_address_is_kept_apart(as_user, teacher, practice):
    client = as_user(teacher)
    seen_twice(client, LIST)
    searched = client.get(LIST, {"q": "exit tickets"})
    assert not isinstance(searched, KeptPage)


def test_a_page_asked_for_with_a_long_address_is_drawn_each_time(as_user, teacher, practice):
    client = as_user(teacher)
    _, again = seen_twice(client, LIST + "?q=" + "exit+" * 100)
    assert not isinstance(again, KeptPage)


def test_a_write_anywhere_draws_the_page_again_even_a_bulk_update(as_user, teacher, practice):
    client = as_user(teacher)
    seen_twice(client)
    # No model signal: the wrapper on the connection sees the statement.
    Practice.objects.filter(pk=practice.pk).update(title="Exit tickets on Mondays")
    page = client.get(LIST)
    assert not isinstance(page, KeptPage)
    assert "Exit tickets on Mondays" in page.content.decode()


def test_a_practice_the_reader_may_no_longer_see_leaves_their_kept_list(as_user, teacher, practice):
    client = as_user(teacher)
    _, again = seen_twice(client)
    assert practice.title in again.content.decode()
    Practice.objects.filter(pk=practice.pk).update(visibility=Visibility.SCHOOL)
    assert practice.title not in client.get(LIST).content.decode()
    assert client.get(reverse("practices:detail", args=[practice.pk])).status_code == 404


def test_a_kept_detail_page_is_not_served_once_the_practice_is_hidden(as_user, teacher, practice):
    client = as_user(teacher)
    path = reverse("practices:detail", args=[practice.pk])
    _, again = seen_twice(client, path)
    assert isinstance(again, KeptPage)
    Practice.objects.filter(pk=practice.pk).update(visibility=Visibility.SCHOOL)
    assert client.get(path).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_generation_moves_at_a_write_and_again_when_its_transaction_commits(other_teacher):
    practice = PracticeFactory(author=other_teacher)
    before = generation()
    with transaction.atomic():
        Practice.objects.filter(pk=practice.pk).update(title="Changed")
        at_write = generation()
        Practice.objects.filter(pk=practice.pk).update(title="Changed again")
        # Once per transaction at commit, however many writes it holds.
        assert generation() == at_write + 1
    assert before < at_write < generation()


def test_messages_waiting_are_shown_on_a_page_drawn_for_them(as_user, teacher, practice, rf):
    client = as_user(teacher)
    seen_twice(client)
    # As a view's messages.success() leaves them for the next page.
    storage = CookieStorage(rf.get(LIST))
    storage.add(messages.SUCCESS, "Saved to your collection.")
    answer = HttpResponse()
    storage.update(answer)
    client.cookies[CookieStorage.cookie_name] = answer.cookies[CookieStorage.cookie_name].value
    page = client.get(LIST)
    assert not isinstance(page, KeptPage)
    assert "Saved to your collection." in page.content.decode()
    # Shown once: the next page is drawn without it (and kept again afterwards).
    assert "Saved to your collection." not in client.get(LIST).content.decode()


def test_nothing_is_served_past_the_minute_it_was_drawn_in(as_user, teacher, practice, monkeypatch):
    client = as_user(teacher)
    seen_twice(client)
    now = kept_pages.minute(client.session.session_key)
    monkeypatch.setattr(kept_pages, "minute", lambda session_key: now + 1)
    assert not isinstance(client.get(LIST), KeptPage)


def test_a_change_of_figures_draws_pages_again(as_user, teacher, practice):
    client = as_user(teacher)
    seen_twice(client)
    figures_changed("district")
    assert not isinstance(client.get(LIST), KeptPage)


def test_off_by_setting(as_user, teacher, practice, settings):
    settings.KEPT_PAGES = False
    _, again = seen_twice(as_user(teacher))
    assert not isinstance(again, KeptPage)


def test_an_emptied_cache_starts_a_generation_never_seen_before(db):
    before = generation()
    cache.clear()
    assert generation() > before


def test_signed_out_readers_are_never_served_a_kept_page(client, teacher, practice):
    seen_twice(Client())
    assert client.get(LIST).status_code == 302


@pytest.mark.parametrize(
    ("sql", "writes"),
    [
        ('INSERT INTO "practices_practice" ("title") VALUES (%s)', True),
        ('UPDATE "practices_practice" SET "title" = %s', True),
        ('DELETE FROM "practices_comment" WHERE "id" = %s', True),
        ("WITH moved AS (SELECT 1) UPDATE portal_user SET school_id = 2", True),
        ('WITH gone AS (DELETE FROM "practices_comment" RETURNING id) SELECT count(*) FROM gone', True),
        ('WITH w0 AS (SELECT "id" FROM "practices_practice"), w1 AS (SELECT 1) SELECT * FROM w0', False),
        ('WITH s AS (SELECT 1) UPDATE "django_session" SET "expire_date" = %s', False),
        ('TRUNCATE "practices_practice"', True),
        ('COPY "practices_practice" ("title") FROM STDIN', True),
        ("CREATE INDEX foo ON practices_practice (title)", True),
        ('SELECT "practices_practice"."id" FROM "practices_practice"', False),
        ("(SELECT 1) UNION (SELECT 2)", False),
        ("  select 1", False),
        ('SAVEPOINT "s1"', False),
        ('UPDATE "django_session" SET "expire_date" = %s', False),
        ('INSERT INTO "axes_accesslog" ("username") VALUES (%s)', False),
        ('DELETE FROM "django_session" WHERE "session_key" = %s', False),
    ],
)
def test_which_statements_count_as_writes(sql, writes):
    assert writes_content(sql) is writes


def test_a_post_is_never_kept(as_user, teacher, practice):
    client = as_user(teacher)
    seen_twice(client)
    response = client.post(LIST)
    assert not isinstance(response, KeptPage)
