"""The district-scale demo stores for each entry what a save through the portal stores, so
benchmarks search the same document the portal builds."""

import random

import pytest

from practices import demo
from practices.models import TAGS, Practice
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
