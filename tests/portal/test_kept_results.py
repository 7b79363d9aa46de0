"""Results kept until a table they were read from is written (portal/lib/kept_results.py): every
way a write reaches the database moves the generations of the tables it writes on, once the write
is visible to others, and a result read with SQL naming one of them is read afresh."""

import pytest
from django.db import connection, transaction

from portal.lib.bulkload import insert_rows
from portal.lib.kept_results import kept_result, tables_named
from practices.models import Practice, SearchWord
from tests.factories import PracticeFactory

pytestmark = pytest.mark.django_db(transaction=True)

PRACTICES_SQL = 'SELECT "practices_practice"."id" FROM "practices_practice" WHERE "practices_practice"."title" = %s'


@pytest.fixture(autouse=True)
def _kept(settings):
    settings.KEPT_PAGES = True


def _titled(title: str) -> list[int]:
    """The ids of the entries titled `title`, kept, and how many times they were read."""
    reads.append(title)
    return list(Practice.objects.filter(title=title).order_by("pk").values_list("pk", flat=True))


reads: list[str] = []


def _kept_titled(title: str = "Exit tickets") -> list[int]:
    return kept_result("default", PRACTICES_SQL, [title], ("test",), lambda: _titled(title), 60)


@pytest.fixture(autouse=True)
def _reads():
    reads.clear()


def test_the_tables_a_query_names_are_those_of_models_not_its_columns_or_aliases():
    sql, _params = Practice.objects.filter(school__name="x", failures__isnull=False).query.sql_with_params()
    assert tables_named(sql) == {"practices_practice", "portal_school", "practices_failure"}


def test_a_result_is_read_again_only_after_a_table_it_names_is_written(teacher):
    first = PracticeFactory(author=teacher, title="Exit tickets")
    assert _kept_titled() == [first.pk]
    assert _kept_titled() == [first.pk]
    assert len(reads) == 1
    # Another table: still kept.
    SearchWord.objects.create(word="unrelated")
    assert _kept_titled() == [first.pk]
    assert len(reads) == 1
    # The entries' table, by the ORM, by update() and by raw SQL.
    second = PracticeFactory(author=teacher, title="Exit tickets")
    assert _kept_titled() == [first.pk, second.pk]
    Practice.objects.filter(pk=first.pk).update(title="Exit slips")
    assert _kept_titled() == [second.pk]
    with connection.cursor() as cursor:
        cursor.execute('UPDATE "practices_practice" SET "title" = %s WHERE "id" = %s', ["Exit tickets", first.pk])
    assert _kept_titled() == [first.pk, second.pk]
    assert len(reads) == 4


def test_a_write_in_a_transaction_counts_when_it_commits_and_not_if_it_is_rolled_back(teacher):
    entry = PracticeFactory(author=teacher, title="Exit tickets")
    assert _kept_titled() == [entry.pk]
    with transaction.atomic():
        Practice.objects.filter(pk=entry.pk).update(title="Exit slips")
        # The transaction that wrote reads what it wrote, and keeps nothing.
        assert _kept_titled() == []
        assert _kept_titled() == []
    assert _kept_titled() == []
    assert len(reads) == 4

    class Undone(Exception):
        pass

    with pytest.raises(Undone), transaction.atomic():
        Practice.objects.filter(pk=entry.pk).update(title="Exit tickets")
        raise Undone
    assert _kept_titled() == []
    assert len(reads) == 4


def test_a_write_whose_tables_are_not_known_counts_for_every_table(teacher):
    entry = PracticeFactory(author=teacher, title="Exit tickets")
    assert _kept_titled() == [entry.pk]
    with connection.cursor() as cursor:
        # Two statements in one call: the watcher cannot tell which tables they write.
        if connection.vendor == "postgresql":
            cursor.execute('UPDATE "practices_practice" SET "title" = \'Exit slips\'; SELECT 1')
        else:
            cursor.execute('INSERT OR REPLACE INTO "practices_searchword" ("word") VALUES (\'slips\')')
            Practice.objects.filter(pk=entry.pk).update(title="Exit slips")
    assert _kept_titled() == []
    assert len(reads) == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_a_bulk_load_past_the_watcher_counts_for_its_table():
    query = 'SELECT "practices_searchword"."word" FROM "practices_searchword" WHERE "practices_searchword"."word" = %s'

    def words() -> list[str]:
        reads.append("words")
        return list(SearchWord.objects.filter(word="slips").values_list("word", flat=True))

    assert kept_result("default", query, ["slips"], (), words, 60) == []
    assert kept_result("default", query, ["slips"], (), words, 60) == []
    insert_rows(SearchWord, ["word"], [("slips",)])
    assert kept_result("default", query, ["slips"], (), words, 60) == ["slips"]
    assert reads == ["words", "words"]


def test_nothing_is_kept_when_kept_pages_are_off(settings, teacher):
    settings.KEPT_PAGES = False
    PracticeFactory(author=teacher, title="Exit tickets")
    _kept_titled()
    _kept_titled()
    assert len(reads) == 2
