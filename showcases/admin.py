from django.contrib import admin

from showcases.models import CalendarFeed, Showcase, VisitorReflection, VisitRequest, VisitSlot


class VisitSlotInline(admin.TabularInline):
    model = VisitSlot
    extra = 0
    fields = ["starts_at", "ends_at", "capacity", "seats_taken", "location", "cancelled_at"]
    readonly_fields = ["seats_taken", "cancelled_at"]


@admin.register(Showcase)
class ShowcaseAdmin(admin.ModelAdmin):
    list_display = ["title", "host_school", "host", "status", "auto_approve", "created_at"]
    list_filter = ["status", "host_school__level", "auto_approve"]
    list_select_related = ["host_school", "host"]
    search_fields = ["title", "description", "host_school__name", "host__last_name"]
    autocomplete_fields = ["host_school", "host", "practices"]
    inlines = [VisitSlotInline]


@admin.register(VisitSlot)
class VisitSlotAdmin(admin.ModelAdmin):
    list_display = ["showcase", "starts_at", "capacity", "seats_taken", "location", "cancelled_at"]
    list_filter = [("cancelled_at", admin.EmptyFieldListFilter)]
    list_select_related = ["showcase"]
    search_fields = ["showcase__title", "location"]
    date_hierarchy = "starts_at"
    # Seats are changed only through requests, under the session's lock.
    readonly_fields = ["seats_taken", "sequence", "cancelled_at", "debriefed_at", "debrief_invites_sent_at"]


@admin.register(VisitRequest)
class VisitRequestAdmin(admin.ModelAdmin):
    list_display = ["requester", "slot", "seats", "status", "created_at", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["requester", "slot", "slot__showcase"]
    search_fields = ["requester__username", "requester__last_name", "slot__showcase__title"]
    # Status changes go through the showcase page so seats stay consistent.
    readonly_fields = [
        "slot",
        "requester",
        "seats",
        "status",
        "created_at",
        "decided_at",
        "sequence",
        "reminder_sent_at",
    ]

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(VisitorReflection)
class VisitorReflectionAdmin(admin.ModelAdmin):
    list_display = ["visit_request", "created_at"]
    search_fields = ["noticed", "will_try"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at"]
    search_fields = ["user__username"]
    exclude = ["token"]
