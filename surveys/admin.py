"""Staff manage survey cycles and the tensions' wording here. Individual responses and
answers have no screen at all: not one person's answers, segment or comments is shown to
anyone (the dashboard shows released figures; imports are listed and undone on the
cycle's import page)."""

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from surveys.models import Cycle, Tension


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin[Cycle]):
    # The dates are checked by Cycle.clean (order, and overlap with other cycles), which the
    # admin's form runs before the database could refuse them by a constraint's name.
    list_display = ["name", "slug", "opens_on", "closes_on"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    formfield_overrides = {models.DateField: {"widget": forms.DateInput(attrs={"type": "date"})}}


@admin.register(Tension)
class TensionAdmin(admin.ModelAdmin[Tension]):
    list_display = ["number", "title", "left_label", "right_label"]
    ordering = ["number"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The seven tensions are fixed; their wording is editable.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Tension | None = None) -> bool:
        return False
