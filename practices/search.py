"""Full-text search over practices: PostgreSQL full-text search with ranking, and a
correct (if slower) word-matching path on SQLite."""

from __future__ import annotations

import re

from django.db import connections
from django.db.models import BooleanField, Case, FloatField, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from practices.models import Practice


def search_terms(text: str) -> list[str]:
    return [term for term in re.findall(r"[\w'’-]+", text.lower()) if term.strip("'’-")][:12]


def practice_search(queryset: QuerySet[Practice], text: str) -> QuerySet[Practice]:
    """Practices matching every word of `text`, with a `search_rank` alias to order by
    (computed only when the list is sorted by relevance)."""
    text = text.strip()[:200]
    if not text:
        return queryset
    terms = search_terms(text)
    if not terms:
        return queryset.none()
    # Words in the title or summary count extra, on both databases.
    bonus = Value(0.0, output_field=FloatField())
    for term in terms:
        bonus = bonus + Case(
            When(title__icontains=term, then=Value(1.0)), default=Value(0.0), output_field=FloatField()
        )
        bonus = bonus + Case(
            When(summary__icontains=term, then=Value(0.5)), default=Value(0.0), output_field=FloatField()
        )
    if connections[queryset.db].vendor == "postgresql":
        # search_vector is PostgreSQL's stored generated column (migration 0004), GIN-indexed.
        # The SQL below is constant; the searched text is passed as a parameter.
        query = "websearch_to_tsquery('english'::regconfig, %s)"
        matches = RawSQL(f'"practices_practice"."search_vector" @@ {query}', [text], output_field=BooleanField())  # noqa: S611  # nosec B611
        rank = RawSQL(f'ts_rank("practices_practice"."search_vector", {query})', [text], output_field=FloatField())  # noqa: S611  # nosec B611
        return queryset.alias(matches=matches).filter(matches=True).alias(search_rank=rank + bonus)
    for term in terms:
        queryset = queryset.filter(search_document__icontains=term)
    return queryset.alias(search_rank=bonus)
