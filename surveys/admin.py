"""Staff manage survey cycles and the tensions' wording here. Individual responses and
answers have no screen at all: not one person's answers, segment or comments is shown to
anyone (the dashboard shows released figures; imports are listed and undone on the
cycle's import page)."""

from django.contrib import admin

from surveys.forms import CycleForm
from surveys.models import Cycle, Tension


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    form = CycleForm
    list_display = ["name", "slug", "opens_on", "closes_on"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Tension)
class TensionAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "left_label", "right_label"]
    ordering = ["number"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        # The seven tensions are fixed; their wording is editable.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
