from typing import Any

from django import forms
from django.contrib import admin
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from showcases import services
from showcases.models import CalendarFeed, Showcase, VisitorReflection, VisitRequest, VisitSlot


def _detail_changes(form: forms.ModelForm) -> dict[str, object]:
    return {name: form.cleaned_data[name] for name in form.changed_data if name in services.SLOT_DETAILS}


class VisitSlotAdminForm(forms.ModelForm):
    """A session's new details are checked against its row locked as every booking path
    locks it; the admin validates and saves in one transaction, so the lock holds until
    the save, which writes only what changed (never the seats, cancellation or sequence)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is not None and not self.errors:
            problems = services.slot_details_check(slot_id=self.instance.pk, changes=_detail_changes(self))
            for field, problem in problems.items():
                self.add_error(None if field == "__all__" else field, problem)
        return cleaned


class VisitSlotInline(admin.TabularInline):
    model = VisitSlot
    form = VisitSlotAdminForm
    extra = 0
    # A session with visitors is cancelled (they are told, their seats freed), never deleted.
    can_delete = False
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

    def get_readonly_fields(self, request: HttpRequest, obj: Showcase | None = None) -> list[str]:
        # Cancelling goes through the showcase page, which cancels its sessions and tells visitors.
        return ["status"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Showcase | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Showcase, form: forms.ModelForm, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Only what was changed here: a cancellation made meanwhile is not undone.
        changed = [name for name in form.changed_data if name != "practices"]
        obj.save(update_fields=[*changed, "updated_at"])

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet[Any, Any, Any], change: bool
    ) -> None:
        if formset.model is not VisitSlot:
            super().save_formset(request, form, formset, change)
            return
        for slot in formset.save(commit=False):
            if slot.pk is None:
                slot.save()
        for slot_form in formset.forms:
            if slot_form.instance.pk is not None and slot_form.has_changed() and slot_form not in formset.deleted_forms:
                services.slot_details_save(slot_id=slot_form.instance.pk, changes=_detail_changes(slot_form))


@admin.register(VisitSlot)
class VisitSlotAdmin(admin.ModelAdmin):
    list_display = ["showcase", "starts_at", "capacity", "seats_taken", "location", "cancelled_at"]
    list_filter = [("cancelled_at", admin.EmptyFieldListFilter)]
    list_select_related = ["showcase"]
    search_fields = ["showcase__title", "location"]
    date_hierarchy = "starts_at"
    form = VisitSlotAdminForm
    # Seats are changed only through requests, under the session's lock.
    readonly_fields = ["seats_taken", "sequence", "cancelled_at", "debriefed_at", "debrief_invites_sent_at"]

    def has_delete_permission(self, request: HttpRequest, obj: VisitSlot | None = None) -> bool:
        # Cancelling a session frees its seats and tells its visitors; deleting would do neither.
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: VisitSlot | None = None) -> list[str]:
        # A session keeps its showcase: its requests and seats belong to it.
        return [*self.readonly_fields, "showcase"] if obj is not None else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: VisitSlot, form: forms.ModelForm, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        services.slot_details_save(slot_id=obj.pk, changes=_detail_changes(form))
        others = [name for name in form.changed_data if name not in services.SLOT_DETAILS]
        if others:
            obj.save(update_fields=others)


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

    def has_add_permission(self, request: HttpRequest, obj: VisitRequest | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: VisitRequest | None = None) -> bool:
        # Deleting an approved request would keep its seats counted and skip the waiting list.
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
