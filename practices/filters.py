from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, QuerySet
from taggit.models import Tag, TaggedItem

from portal.lib import pagination
from portal.lib.kept_results import kept_result
from portal.models import School, SchoolLevel, User, school_asked_for, school_similarity
from practices.models import Facet, FacetKind, Practice
from practices.search import (
    best_matches,
    ids_within_time,
    most_recent,
    most_recent_like_mine,
    practice_matches,
    with_search_rank,
)

POPULAR_TAGS_CACHE_KEY = "practices:popular-tags:shared"
POPULAR_TAGS_SECONDS = 300
# How long a search's ranked ids are kept while nothing they were read from is written (the
# most a write made past the portal's connections, which no generation sees, goes unseen).
RANKED_IDS_SECONDS = 5 * 60
TAG_SLUG_MAX_LENGTH = Tag._meta.get_field("slug").max_length

POPULAR_TAGS_SHOWN = 25
TAG_SUGGESTIONS = 200


def tags_of(practices: QuerySet[Practice]) -> QuerySet[Tag]:
    """The tags used on `practices` (one row per use: add distinct() or count them)."""
    return Tag.objects.filter(
        taggit_taggeditem_items__content_type=ContentType.objects.get_for_model(Practice),
        taggit_taggeditem_items__object_id__in=practices.values("pk"),
    )


def popular_tags() -> list[tuple[str, str]]:
    """(slug, name) of the most used tags on published entries shared with the whole
    district, which every reader may see. Counting every tag's uses is costly at district
    scale and changes slowly: cached, once for everybody."""
    popular = cache.get(POPULAR_TAGS_CACHE_KEY)
    if popular is None:
        shared = Practice.objects.visible_to_all_at(None).published()
        popular = list(
            tags_of(shared)
            .annotate(uses=Count("taggit_taggeditem_items"))
            .order_by("-uses", "name")
            .values_list("slug", "name")[:TAG_SUGGESTIONS]
        )
        cache.set(POPULAR_TAGS_CACHE_KEY, popular, POPULAR_TAGS_SECONDS)
    return popular


def tag_suggestions(user: User) -> list[str]:
    """Tags to offer a writer, most used first: only tags they could see anyway (on
    published entries they may open, and on their own entries), never from colleagues'
    drafts or from entries kept inside another school."""
    names = [name for _slug, name in popular_tags()]
    # The popular list has the district's shared entries; add the writer's own school's and their own.
    close = Practice.objects.filter(author=user)
    if user.school_id is not None:
        close |= Practice.objects.visible_to(user).published().filter(school_id=user.school_id)
    known = set(names)
    for name in tags_of(close).order_by("name").values_list("name", flat=True).distinct()[:TAG_SUGGESTIONS]:
        if name not in known:
            known.add(name)
            names.append(name)
    return names[:TAG_SUGGESTIONS]


FACETS_CACHE_KEY = "practices:facet-vocabulary"


def facet_vocabulary() -> list[tuple[str, str, str]]:
    """(kind, slug, name) of every subject, grade band and kind of evidence: one query, kept for
    a few minutes (the vocabulary changes only in the admin)."""
    facets = cache.get(FACETS_CACHE_KEY)
    if facets is None:
        facets = list(Facet.objects.values_list("kind", "slug", "name"))
        cache.set(FACETS_CACHE_KEY, facets, POPULAR_TAGS_SECONDS)
    return facets


def shared_traits(mine: School, theirs: School) -> list[str]:
    """What another school has in common with mine, in the words lists show ("same level,
    similar size"): the four traits `school_similarity` counts, each said once."""
    traits = []
    if mine.level == theirs.level:
        traits.append("same level")
    if mine.enrollment_band == theirs.enrollment_band:
        traits.append("similar size")
    if mine.frl_band == theirs.frl_band:
        traits.append("similar share on free or reduced lunch")
    if mine.locale == theirs.locale:
        traits.append(f"also {theirs.get_locale_display().lower()}")
    return traits


def like_mine_reasons(mine: School, theirs: School) -> str:
    return ", ".join(shared_traits(mine, theirs)) or "nothing in common in level, size, lunch share or locale"


SORTS = [
    ("relevance", "Best match"),
    ("newest", "Newest"),
    ("most_adapted", "Most adapted and tried"),
    ("like_mine", "Schools like mine"),
]


class FacetFilter(django_filters.MultipleChoiceFilter):
    """Practices filed under any of the chosen terms of one kind (choices filled in by the filter set)."""

    def __init__(self, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(widget=forms.CheckboxSelectMultiple, method="filter_facets", **kwargs)


class PracticeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="filter_search")
    subject = FacetFilter(FacetKind.SUBJECT, label="Subject")
    grade = FacetFilter(FacetKind.GRADE_BAND, label="Grade band")
    evidence = FacetFilter(FacetKind.EVIDENCE, label="Kind of evidence")
    level = django_filters.MultipleChoiceFilter(
        field_name="school__level",
        choices=SchoolLevel.choices,
        widget=forms.CheckboxSelectMultiple,
        label="School level",
    )
    # A district has up to a couple of thousand schools: a select listing each was most of the page.
    # The reader types part of a name instead; a school's own slug (as links give it) names that school.
    school = django_filters.CharFilter(
        label="School",
        method="filter_school",
        max_length=200,
        help_text="Part of a school's name, e.g. “Lincoln”.",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    tag = django_filters.MultipleChoiceFilter(label="Tags", method="filter_tags", widget=forms.CheckboxSelectMultiple)
    has_failures = django_filters.BooleanFilter(
        label="Documents what did not work", method="filter_has_failures", widget=forms.CheckboxInput
    )
    has_evolution = django_filters.BooleanFilter(
        label="Shows how it evolved (2+ iterations)", method="filter_has_evolution", widget=forms.CheckboxInput
    )
    featured = django_filters.BooleanFilter(
        label="Models of Excellence", method="filter_featured", widget=forms.CheckboxInput
    )
    sort = django_filters.ChoiceFilter(choices=SORTS, label="Sort by", method="filter_noop", empty_label=None)

    class Meta:
        model = Practice
        fields: list[str] = []

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.filters["tag"].extra["choices"] = self._tag_choices()
        facets = facet_vocabulary()
        for name in ("subject", "grade", "evidence"):
            kind = self.filters[name].kind
            self.filters[name].extra["choices"] = [(slug, label) for k, slug, label in facets if k == kind]
        if user.school_id is None:
            self.filters["sort"].extra["choices"] = [choice for choice in SORTS if choice[0] != "like_mine"]

    def _tag_choices(self) -> list[tuple[str, str]]:
        """The most used tags, plus any chosen ones the reader could come across, so a
        shared link keeps its filters."""
        chosen = self.data.getlist("tag") if hasattr(self.data, "getlist") else []
        # Only what could be a tag's slug is looked up; anything else fails as an unknown choice.
        chosen = [slug for slug in chosen if 0 < len(slug) <= TAG_SLUG_MAX_LENGTH and "\x00" not in slug]
        choices = dict(popular_tags()[:POPULAR_TAGS_SHOWN])
        if chosen:
            seen = tags_of(Practice.objects.visible_to(self.user)).filter(slug__in=chosen).distinct()
            choices.update(dict(seen.values_list("slug", "name")))
        return sorted(choices.items(), key=lambda item: item[1].lower())

    def filter_search(self, queryset: QuerySet[Practice], name: str, value: str) -> QuerySet[Practice]:
        return practice_matches(queryset, value)

    def filter_facets(self, queryset: QuerySet[Practice], name: str, value: list[str]) -> QuerySet[Practice]:
        if not value:
            return queryset
        through = Practice.facets.through.objects.filter(
            practice_id=OuterRef("pk"), facet__kind=self.filters[name].kind, facet__slug__in=value
        )
        return queryset.filter(Exists(through))

    def filter_tags(self, queryset: QuerySet[Practice], name: str, value: list[str]) -> QuerySet[Practice]:
        if not value:
            return queryset
        tagged = TaggedItem.objects.filter(
            content_type=ContentType.objects.get_for_model(Practice), object_id=OuterRef("pk"), tag__slug__in=value
        )
        return queryset.filter(Exists(tagged))

    def filter_school(self, queryset: QuerySet[Practice], name: str, value: str) -> QuerySet[Practice]:
        if not value.strip():
            return queryset
        return queryset.filter(school_asked_for("school", value))

    def filter_has_failures(self, queryset: QuerySet[Practice], name: str, value: bool) -> QuerySet[Practice]:
        return queryset.filter(failure_count__gt=0) if value else queryset

    def filter_has_evolution(self, queryset: QuerySet[Practice], name: str, value: bool) -> QuerySet[Practice]:
        return queryset.filter(iteration_count__gte=2) if value else queryset

    def filter_featured(self, queryset: QuerySet[Practice], name: str, value: bool) -> QuerySet[Practice]:
        return queryset.filter(featured_at__isnull=False) if value else queryset

    def filter_noop(self, queryset: QuerySet[Practice], name: str, value: str) -> QuerySet[Practice]:
        return queryset

    @property
    def searching(self) -> bool:
        return self.is_bound and self.form.is_valid() and bool(self.form.cleaned_data.get("q"))

    @property
    def sort_key(self) -> str:
        chosen = self.form.cleaned_data.get("sort") if self.is_bound and self.form.is_valid() else None
        if chosen == "like_mine" and self.user.school_id is None:
            chosen = None
        return chosen or ("relevance" if self.searching else "newest")

    @property
    def qs(self) -> QuerySet[Practice]:
        queryset = super().qs
        return self._ranked(queryset, self.form.cleaned_data["q"] if self.searching else "")

    def _matches(self, text: str) -> QuerySet[Practice]:
        """The entries the same filters find with a search for `text` instead of what was typed
        (a corrected spelling), unordered. Only for a search that was valid."""
        data = self.form.cleaned_data
        typed = data.get("q")
        data["q"] = text
        try:
            return self.filter_queryset(self.queryset.all())
        finally:
            data["q"] = typed

    def ranked_ids(self, text: str) -> list[int]:
        """The ids of what a search for `text` finds under the same filters, in the list's order:
        the pool of the most recent matches (see `_ranked`), sorted. Only for a search that was valid."""
        matches = self._matches(text)
        if matches.query.is_empty():
            return []  # a search of no words finds nothing
        # Kept until an entry, or anything else the list's query reads, is written: the list's
        # query over the matches, in the chosen order, names every table each way of ranking
        # reads, and holds the reader's rights and filters (and the reader's school, for schools
        # like mine). Without the text, as that adds the pool, whose SQL holds the time it is read.
        # Without the authors and schools joined to show them: a sign-in (a write to the people's
        # table) would retire every kept search.
        sql, params = self._ranked(matches.select_related(None), "").query.sql_with_params()
        return kept_result(
            matches.db,
            sql,
            params,
            ("practices:ranked-ids", text, self.sort_key, self.leaves_out_own_school, self.user.school_id),
            lambda: self._ranked_ids(matches, text),
            RANKED_IDS_SECONDS,
        )

    def _ranked_ids(self, matches: QuerySet[Practice], text: str) -> list[int]:
        pool_size = pagination.COUNT_LIMIT + 1
        sort = self.sort_key
        if sort == "relevance":
            return best_matches(matches, text, size=pool_size, within=self.queryset)
        if sort == "newest":
            # The most recent matches as a search's pool finds them (few matches: from the search
            # vector's index), not by walking every entry in date order.
            pool = most_recent(matches, pool_size)
            newest = self.queryset.filter(pk__in=pool).order_by("-published_at", "-pk")
            return ids_within_time(newest.values_list("pk", flat=True))
        school = self.user.school
        if sort == "like_mine" and school is not None and connections[matches.db].vendor == "postgresql":
            return most_recent_like_mine(matches, size=pool_size, school=school, leave_out=self.leaves_out_own_school)
        return ids_within_time(self._ranked(matches, text).values_list("pk", flat=True))

    def finds(self, text: str) -> bool:
        """Whether a search for `text` under the same filters lists anything (no ranking needed);
        one that runs past its time limit raises SearchTookTooLong."""
        return bool(ids_within_time(self._ranked(self._matches(text), text).values_list("pk", flat=True)[:1]))

    def _ranked(self, queryset: QuerySet[Any], text: str) -> QuerySet[Practice]:
        """Order the filtered entries (annotated with their counts and, searching, their rank)."""
        if text:
            # Rank only the most recent matches: past COUNT_LIMIT the list says "more than
            # 1,000" anyway, and ranking then costs the same in a district of any size.
            # The pool is chosen by every filter; the page is then sorted within it.
            pool = most_recent(queryset, pagination.COUNT_LIMIT + 1)
            queryset = with_search_rank(self.queryset.filter(pk__in=pool), text)
        sort = self.sort_key
        if sort == "relevance" and text:
            return queryset.order_by("-search_rank", "-published_at", "-pk")
        if sort == "most_adapted":
            return queryset.order_by("-adaptation_count", "-adoption_count", "-published_at", "-pk")
        if sort == "like_mine":
            if self.leaves_out_own_school:
                queryset = queryset.exclude(school_id=self.user.school_id)
            return self.with_likeness(queryset).order_by(F("likeness").desc(), "-published_at", "-pk")
        return queryset.order_by("-published_at", "-pk")

    @property
    def leaves_out_own_school(self) -> bool:
        """ "Schools like mine" means other schools: the reader's own school's entries are left out
        (they are one filter away), unless that filter is chosen."""
        chosen_school = self.form.cleaned_data.get("school") if self.is_bound and self.form.is_valid() else None
        return self.sort_key == "like_mine" and not (chosen_school or "").strip()

    def with_likeness(self, queryset: QuerySet[Practice]) -> QuerySet[Practice]:
        """How many traits each entry's school shares with the reader's, when sorting by it."""
        school = self.user.school
        if self.sort_key != "like_mine" or school is None:
            return queryset
        return queryset.annotate(likeness=school_similarity(school))
