"""Full-text search over practices: PostgreSQL full-text search with ranking, and a
correct (if slower) word-matching path on SQLite."""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connections
from django.db.models import Case, F, FloatField, Func, QuerySet, Value, When

from practices.models import Practice


class DocumentVector(Func):
    """to_tsvector over the search document, spelled exactly as the GIN index is
    (migration 0002), so PostgreSQL can use the index."""

    template = "to_tsvector('english'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()


def search_terms(text: str) -> list[str]:
    return [term for term in re.findall(r"[\w'’-]+", text.lower()) if term.strip("'’-")][:12]


def practice_search(queryset: QuerySet[Practice], text: str) -> QuerySet[Practice]:
    """Practices matching every word of `text`, annotated with `search_rank`."""
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
        query = SearchQuery(text, search_type="websearch", config="english")
        vector = DocumentVector(F("search_document"))
        return (
            queryset.alias(document=vector)
            .filter(document=query)
            .annotate(search_rank=SearchRank(vector, query) + bonus)
        )
    for term in terms:
        queryset = queryset.filter(search_document__icontains=term)
    return queryset.annotate(search_rank=bonus)
