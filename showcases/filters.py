from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from portal.forms import validate_plausible_date
from portal.models import school_asked_for
from practices.models import Facet, FacetKind, Practice
from showcases.models import Showcase, VisitSlot


class ShowcaseFilter(django_filters.FilterSet):
    """Upcoming showcases, by what their linked practices are about, where and when."""

    subject = django_filters.MultipleChoiceFilter(
        label="Subject", method="filter_facet", widget=forms.CheckboxSelectMultiple
    )
    grade = django_filters.MultipleChoiceFilter(
        label="Grade band", method="filter_facet", widget=forms.CheckboxSelectMultiple
    )
    tag = django_filters.CharFilter(label="Tag", method="filter_tag", max_length=100)
    # A district has up to a couple of thousand schools: a select listing each would be most of
    # the page. The reader types part of a name instead (a school's slug, as links give it, works too).
    school = django_filters.CharFilter(
        label="School",
        method="filter_school",
        max_length=200,
        help_text="Part of a school's name, e.g. “Lincoln”.",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    date_from = django_filters.DateFilter(
        label="From",
        method="filter_session",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_plausible_date],
    )
    date_to = django_filters.DateFilter(
        label="To",
        method="filter_session",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_plausible_date],
    )
    seats_left = django_filters.BooleanFilter(
        label="Only sessions with seats left", method="filter_session", widget=forms.CheckboxInput
    )

    class Meta:
        model = Showcase
        fields: list[str] = []

    KINDS = {"subject": FacetKind.SUBJECT, "grade": FacetKind.GRADE_BAND}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        facets = list(Facet.objects.filter(kind__in=self.KINDS.values()).values_list("kind", "slug", "name"))
        for name, kind in self.KINDS.items():
            self.filters[name].extra["choices"] = [(slug, label) for k, slug, label in facets if k == kind]

    def _with_slots(self, queryset: QuerySet[Showcase], **conditions: object) -> QuerySet[Showcase]:
        slots = VisitSlot.objects.filter(
            showcase=OuterRef("pk"), cancelled_at__isnull=True, starts_at__gt=timezone.now(), **conditions
        )
        return queryset.filter(Exists(slots))

    def _readable_links(self) -> QuerySet:
        """Links to entries the reader may open: what a school-only entry is about stays in its school."""
        return Showcase.practices.through.objects.filter(
            showcase_id=OuterRef("pk"), practice__in=Practice.objects.visible_to(self.request.user)
        )

    def filter_facet(self, queryset: QuerySet[Showcase], name: str, value: list[str]) -> QuerySet[Showcase]:
        if not value:
            return queryset
        linked = self._readable_links().filter(
            practice__facets__kind=self.KINDS[name], practice__facets__slug__in=value
        )
        return queryset.filter(Exists(linked))

    def filter_tag(self, queryset: QuerySet[Showcase], name: str, value: str) -> QuerySet[Showcase]:
        if not value:
            return queryset
        linked = self._readable_links().filter(practice__tags__name__iexact=value.strip())
        return queryset.filter(Exists(linked))

    def filter_school(self, queryset: QuerySet[Showcase], name: str, value: str) -> QuerySet[Showcase]:
        if not value.strip():
            return queryset
        return queryset.filter(school_asked_for("host_school", value))

    def filter_session(self, queryset: QuerySet[Showcase], name: str, value: object) -> QuerySet[Showcase]:
        """Dates and seats are applied together in `filter_queryset`: one session must meet them all."""
        return queryset

    def filter_queryset(self, queryset: QuerySet[Showcase]) -> QuerySet[Showcase]:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        conditions: dict[str, object] = {}
        if data.get("date_from"):
            conditions["starts_at__date__gte"] = data["date_from"]
        if data.get("date_to"):
            conditions["starts_at__date__lte"] = data["date_to"]
        if data.get("seats_left"):
            conditions["seats_taken__lt"] = F("capacity")
        return self._with_slots(queryset, **conditions) if conditions else queryset
