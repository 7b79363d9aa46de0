from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from reversion.admin import VersionAdmin

from portal.http import AuthenticatedHttpRequest
from practices import services
from practices.models import Adoption, AdoptionReport, Attachment, Facet, Failure, Iteration, Practice, Status


class IterationInline(admin.StackedInline):
    model = Iteration
    extra = 0
    fields = ["position", "when", "tried", "observed", "changed"]


class FailureInline(admin.StackedInline):
    model = Failure
    extra = 0
    fields = ["position", "tried", "what_happened", "why", "lesson"]


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["original_name", "content_type", "size", "uploaded_by", "created_at", "removed_at"]
    readonly_fields = ["original_name", "content_type", "size", "uploaded_by", "created_at"]


@admin.register(Practice)
class PracticeAdmin(VersionAdmin):
    list_display = ["title", "school", "author", "status", "visibility", "anonymous", "featured_at", "published_at"]
    list_filter = [
        "status",
        "visibility",
        "anonymous",
        "school__level",
        "facets",
        ("featured_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["school", "author"]
    search_fields = ["title", "summary", "search_document", "school__name", "author__username", "author__last_name"]
    autocomplete_fields = ["school", "author", "adapted_from"]
    filter_horizontal = ["facets"]
    readonly_fields = [
        "created_at",
        "updated_at",
        "published_at",
        "archived_at",
        "archived_by",
        "featured_at",
        "featured_by",
    ]
    inlines = [IterationInline, FailureInline, AttachmentInline]
    actions = ["archive_selected"]
    date_hierarchy = "created_at"

    def save_model(self, request: HttpRequest, obj: Practice, form: Any, change: bool) -> None:
        # The publication date is read-only here; publishing through the status field dates it.
        if obj.status == Status.PUBLISHED and obj.published_at is None:
            obj.published_at = timezone.now()
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.practice_refresh_derived(form.instance)

    @admin.action(description="Archive the selected practices (nothing is deleted)")
    def archive_selected(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Practice]) -> None:
        count = 0
        for practice in queryset.exclude(status=Status.ARCHIVED):
            services.practice_archive(practice=practice, by=request.user, reason="Archived by district staff")
            count += 1
        self.message_user(request, f"{count} practices archived.", messages.SUCCESS)

    def has_delete_permission(self, request: HttpRequest, obj: Practice | None = None) -> bool:
        # Only district staff purge; authors archive instead.
        return request.user.is_active and request.user.is_district_staff


class AdoptionReportInline(admin.TabularInline):
    model = AdoptionReport
    extra = 0
    fields = ["created_at", "status", "notes", "failure"]
    readonly_fields = ["created_at", "failure"]


@admin.register(Adoption)
class AdoptionAdmin(admin.ModelAdmin):
    inlines = [AdoptionReportInline]
    list_display = ["practice", "user", "school", "status", "updated_at"]
    list_filter = ["status", "school__level"]
    list_select_related = ["practice", "user", "school"]
    search_fields = ["practice__title", "user__username", "user__last_name", "school__name"]
    autocomplete_fields = ["practice", "user", "school"]


@admin.register(Facet)
class FacetAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "slug", "position"]
    list_filter = ["kind"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
