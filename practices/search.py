"""Full-text search over practices: PostgreSQL full-text search with ranking, and a
correct (if slower) word-matching path on SQLite."""

from __future__ import annotations

import re

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Case, FloatField, QuerySet, Value, When
from django.db.models.expressions import Combinable, Expression
from django.db.models.sql.compiler import SQLCompiler

from practices.models import Practice


class SearchVectorSQL(Expression):
    """A match against, or the rank in, PostgreSQL's stored `search_vector` column
    (generated and GIN-indexed by migration 0004; not a model field, as SQLite has none).
    The column is named through the query's own alias for the practice table, so the
    expression also holds inside a subquery. The SQL is constant; the searched text is a
    parameter."""

    QUERY = "websearch_to_tsquery('english'::regconfig, %s)"

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(output_field=BooleanField() if kind == "@@" else FloatField())
        self.kind, self.text = kind, text

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[str]]:
        column = f"{compiler.quote_name_unless_alias(compiler.query.get_initial_alias())}.search_vector"
        if self.kind == "@@":
            return f"{column} @@ {self.QUERY}", (self.text,)
        return f"ts_rank({column}, {self.QUERY})", (self.text,)


def searched_text(text: str) -> str:
    return text.strip()[:200]


def search_terms(text: str) -> list[str]:
    return [term for term in re.findall(r"[\w'’-]+", text.lower()) if term.strip("'’-")][:12]


def practice_matches(queryset: QuerySet[Practice], text: str) -> QuerySet[Practice]:
    """Practices matching every word of `text`."""
    text = searched_text(text)
    if not text:
        return queryset
    terms = search_terms(text)
    if not terms:
        return queryset.none()
    if connections[queryset.db].vendor == "postgresql":
        return queryset.alias(matches=SearchVectorSQL("@@", text)).filter(matches=True)
    for term in terms:
        queryset = queryset.filter(search_document__icontains=term)
    return queryset


def with_search_rank(queryset: QuerySet[Practice], text: str) -> QuerySet[Practice]:
    """A `search_rank` alias to order matches by: PostgreSQL's rank where there is one, and
    on both databases extra weight for words in the title or summary."""
    text = searched_text(text)
    bonus: Combinable = Value(0.0, output_field=FloatField())
    for term in search_terms(text):
        bonus = bonus + Case(
            When(title__icontains=term, then=Value(1.0)), default=Value(0.0), output_field=FloatField()
        )
        bonus = bonus + Case(
            When(summary__icontains=term, then=Value(0.5)), default=Value(0.0), output_field=FloatField()
        )
    if text and connections[queryset.db].vendor == "postgresql":
        return queryset.alias(search_rank=SearchVectorSQL("rank", text) + bonus)
    return queryset.alias(search_rank=bonus)
