from django.contrib import admin

from surveys.models import Answer, Cycle, Response, Tension


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
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


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    fields = ["tension", "position", "dedicated_resources", "priority", "comment"]
    readonly_fields = fields
    can_delete = False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    """Responses are shown without the respondent: staff manage cycles, not individual answers."""

    list_display = ["pk", "cycle", "role", "school_level", "imported", "submitted_at"]
    list_filter = ["cycle", "role", "imported"]
    exclude = ["respondent"]
    readonly_fields = [
        "cycle",
        "role",
        "school_level",
        "enrollment_band",
        "frl_band",
        "locale",
        "imported",
        "submitted_at",
    ]
    inlines = [AnswerInline]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False
