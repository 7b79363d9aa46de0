"""A search's scores are kept per searched text and row version (PostgreSQL): a kept score ranks
the very version of the entry it was computed from, and no other."""

import pytest
from django.core.cache import cache
from django.db import connection

from practices import search
from practices.models import Practice
from tests.factories import PracticeFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="scores are kept on PostgreSQL only"),
]

TEXT = "exit tickets"


def _ranked() -> list[str]:
    shared = Practice.objects.published()
    ids = search.best_matches(search.practice_matches(shared, TEXT), TEXT, size=1001, within=shared)
    titles = dict(Practice.objects.values_list("pk", "title"))
    return [titles[pk] for pk in ids]


def _keep_score(practice: Practice, score: float) -> None:
    """Put `score` in the kept scores for the entry's current row version."""
    key = search._kept_scores_key(TEXT, "default")
    rows = {pk: (version, kept) for pk, version, kept in search._kept_rows(cache.get(key))}
    rows[practice.pk] = (rows[practice.pk][0], score)
    cache.set(key, search._kept_arrays([(pk, version, kept) for pk, (version, kept) in rows.items()]))


def test_a_kept_score_ranks_the_version_it_was_computed_for_only(teacher):
    titled = PracticeFactory(author=teacher, title="Exit tickets", summary="Three questions.")
    summarized = PracticeFactory(author=teacher, title="Closing the lesson", summary="Exit tickets, daily.")
    PracticeFactory(author=teacher, title="Number talks", summary="Mental math.")
    assert _ranked() == ["Exit tickets", "Closing the lesson"]
    kept = search._kept_rows(cache.get(search._kept_scores_key(TEXT, "default")))
    assert {pk for pk, _version, _score in kept} == {titled.pk, summarized.pk}

    # A kept score is what ranks its entry, as long as the entry is not changed.
    _keep_score(summarized, 100.0)
    assert _ranked() == ["Closing the lesson", "Exit tickets"]

    # Any change of the row, even by update() in the same transaction, makes it ranked afresh.
    Practice.objects.filter(pk=summarized.pk).update(summary="Exit tickets, every day.")
    assert _ranked() == ["Exit tickets", "Closing the lesson"]
    Practice.objects.filter(pk=titled.pk).update(title="Questions at the door")
    Practice.objects.filter(pk=summarized.pk).update(title="Exit tickets at the end")
    assert _ranked() == ["Exit tickets at the end", "Questions at the door"]


def test_kept_scores_rank_as_fresh_ones_do(teacher):
    for n in range(6):
        PracticeFactory(author=teacher, title=f"Exit tickets {n}" if n % 2 else f"Entry {n}", summary="Exit tickets.")
    fresh = _ranked()
    assert cache.get(search._kept_scores_key(TEXT, "default")) is not None
    assert _ranked() == fresh
    cache.clear()
    assert _ranked() == fresh
