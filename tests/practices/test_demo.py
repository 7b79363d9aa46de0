"""The district-scale demo stores for each entry what a save through the portal stores, so
benchmarks search the same document the portal builds."""

import random
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection

from practices import demo
from practices.models import TAGS, Iteration, Practice, SearchWord
from practices.services import practice_refresh_derived
from tests.factories import TeacherFactory

pytestmark = pytest.mark.django_db


def test_the_bulk_seeder_stores_the_search_document_a_save_builds(monkeypatch, school, other_school):
    TeacherFactory(school=school)
    TeacherFactory(school=other_school)
    monkeypatch.setattr(demo, "LARGE_PRACTICE_COUNT", 24)
    monkeypatch.setattr(demo, "LARGE_ITERATION_COUNT", 60)
    monkeypatch.setattr(demo, "LARGE_FAILURE_COUNT", 30)
    demo.seed_practices_large(rng=random.Random(13))
    practices = list(Practice.objects.prefetch_related("facets", "iterations", "failures", TAGS))
    assert len(practices) == 24
    assert any(practice.failure_count for practice in practices)
    for practice in practices:
        seeded = (practice.search_document, practice.tag_names, practice.iteration_count, practice.failure_count)
        practice_refresh_derived(practice)
        rebuilt = (practice.search_document, practice.tag_names, practice.iteration_count, practice.failure_count)
        assert seeded == rebuilt, practice.title
        assert practice.facets.all()[0].name in practice.search_document


def test_the_streamed_seeder_stores_what_a_save_stores_and_remembers_the_words(monkeypatch, school, other_school):
    TeacherFactory(school=school)
    TeacherFactory(school=other_school)
    monkeypatch.setattr(demo, "XL_BATCH", 7)
    demo.seed_practices_xl(rng=random.Random(13), practices=24, iterations=72, failures=29)
    practices = list(Practice.objects.prefetch_related("facets", "iterations", "failures", TAGS))
    assert len(practices) == 24
    assert {practice.iteration_count for practice in practices} == {3}
    assert {practice.failure_count for practice in practices} <= {1, 2}
    for practice in practices:
        seeded = (practice.search_document, practice.tag_names, practice.iteration_count, practice.failure_count)
        practice_refresh_derived(practice)
        rebuilt = (practice.search_document, practice.tag_names, practice.iteration_count, practice.failure_count)
        assert seeded == rebuilt, practice.title
        assert len(practice.facets.all()) == 3 and len(practice.tags.all()) == 2
    assert SearchWord.objects.filter(word="misconceptions").exists()
    # Keys handed out later follow the ones the seeder gave.
    later = Practice.objects.create(title="Later", school=school, author=practices[0].author)
    assert later.pk > max(practice.pk for practice in practices)
    assert demo.seed_practices_xl(rng=random.Random(13), practices=24, iterations=72, failures=29) == 25


@pytest.mark.django_db(transaction=True)
def test_the_streamed_seeder_outside_a_transaction_writes_every_batch_and_keeps_the_search_index(
    monkeypatch, school, other_school
):
    """Outside a transaction PostgreSQL's batches are written by other connections and the
    full-text index is set aside while they are: every batch arrives and the index is back."""
    # The facets as their data migration writes them (an earlier transactional test's flush
    # may have removed them; a module name starting with a digit).
    import_module("practices.migrations.0002_facets_and_search_index").add_facets(apps, None)
    TeacherFactory(school=school)
    TeacherFactory(school=other_school)
    monkeypatch.setattr(demo, "XL_BATCH", 5)
    assert demo.seed_practices_xl(rng=random.Random(5), practices=33, iterations=99, failures=40) == 33
    assert Iteration.objects.count() == 99
    assert Practice.objects.filter(search_document__contains="Exit tickets").exists()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'practice_search_vector_gin'")
            assert cursor.fetchone() == (1,)
    author = Practice.objects.values_list("author", flat=True)[0]
    assert Practice.objects.create(title="Later", school=school, author_id=author).pk > max(
        Practice.objects.exclude(title="Later").values_list("pk", flat=True)
    )
