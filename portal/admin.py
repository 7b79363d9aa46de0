from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db import models
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.lookups import Exact, IsNull
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

from portal.http import acting_user
from portal.models import DeliveryStatus, MailDelivery, Role, RosterImport, School, User
from portal.services import invitations_send


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    change_list_template = "admin/portal/change_list_with_import.html"
    list_display = ["name", "slug", "level", "enrollment", "frl_percent", "locale", "people_count"]
    list_filter = ["level", "locale"]
    search_fields = ["name", "slug", "sourced_id"]
    readonly_fields = ["sourced_id"]
    prepopulated_fields = {"slug": ["name"]}
    ordering = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[School]:
        return super().get_queryset(request).annotate(people_total=Count("people", filter=Q(people__is_active=True)))

    @admin.display(description="People", ordering="people_total")
    def people_count(self, school: School) -> int:
        return getattr(school, "people_total", 0)


class PortalUserChangeForm(UserChangeForm):
    def clean_username(self) -> str:
        # Usernames differing only in capitals would be told apart by nobody signing in.
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Someone else already has this username (perhaps in other capitals).")
        return username


def _latest_invitation(field: str) -> Subquery:
    """A field of each person's latest invitation (None: never invited)."""
    latest = MailDelivery.objects.invitations().filter(person=OuterRef("pk")).order_by("-queued_at", "-pk")
    return Subquery(latest.values(field)[:1])


class SignedInFilter(admin.SimpleListFilter):
    title = "signed in"
    parameter_name = "signed_in"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("never", "Never"), ("yes", "At least once")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() == "never":
            return queryset.filter(last_login__isnull=True)
        if self.value() == "yes":
            return queryset.filter(last_login__isnull=False)
        return queryset


class InvitationFilter(admin.SimpleListFilter):
    """By what became of each person's latest invitation (UserAdmin.get_queryset)."""

    title = "invitation"
    parameter_name = "invitation"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [*DeliveryStatus.choices, ("none", "None")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() == "none":
            return queryset.filter(IsNull(_latest_invitation("status"), True))
        if self.value() in DeliveryStatus.values:
            return queryset.filter(Exact(_latest_invitation("status"), self.value()))
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """People. Who may change whom is `User.can_manage` (superusers: everyone; district staff:
    accounts that do not run the admin, and their own), checked here on every way in: the
    change form and its password form (has_change_permission), deletion, and bulk actions.
    Only superusers hand out the district staff role, superuser rights or permissions."""

    form = PortalUserChangeForm
    change_list_template = "admin/portal/change_list_with_import.html"
    list_display = [
        "username",
        "email",
        "first_name",
        "last_name",
        "role",
        "school",
        "is_active",
        "last_login",
        "invitation",
    ]
    list_filter = ["role", "is_active", SignedInFilter, InvitationFilter, "school__level", "school"]
    list_select_related = ["school"]
    search_fields = ["username", "email", "first_name", "last_name", "school__name", "sourced_id"]
    autocomplete_fields = ["school"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email"]}),
        ("Place in the district", {"fields": ["role", "school", "sourced_id"]}),
        ("Access", {"fields": ["is_active", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "email",
                    "first_name",
                    "last_name",
                    "role",
                    "school",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]
    readonly_fields = ["last_login", "date_joined", "sourced_id"]
    actions = ["deactivate", "resend_invitation"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return (
            super()
            .get_queryset(request)
            .annotate(invitation_status=_latest_invitation("status"), invitation_at=_latest_invitation("status_at"))
        )

    @admin.display(description="Invitation", ordering="invitation_at")
    def invitation(self, user: User) -> str:
        """What became of the person's latest invitation, and when."""
        status, at = getattr(user, "invitation_status", None), getattr(user, "invitation_at", None)
        if status is None or at is None:
            return "—"
        when = date_format(timezone.localtime(at), "DATETIME_FORMAT")
        return f"{DeliveryStatus(status).label} {when}"

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        # Only superusers hand out superuser rights or raw permissions.
        if not request.user.is_superuser:
            fields += ["is_superuser", "groups", "user_permissions"]
            if obj is not None and obj.pk == request.user.pk:
                # Their own role is district staff, which they could not choose again.
                fields.append("role")
        return fields

    def formfield_for_choice_field(
        self, db_field: models.Field, request: HttpRequest, **kwargs: Any
    ) -> forms.TypedChoiceField | None:
        actor = acting_user(request)
        if db_field.name == "role" and not actor.is_superuser:
            kwargs["choices"] = [choice for choice in Role.choices if actor.can_give_role(choice[0])]
            kwargs["help_text"] = "Only a superuser can make someone district staff."
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or acting_user(request).can_manage(obj))

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # People are deactivated, not deleted: their practices and history stay.
        return request.user.is_superuser

    @admin.action(description="Deactivate the selected people (they can no longer sign in)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = acting_user(request)
        others = queryset.exclude(pk=actor.pk)
        allowed = User.objects.manageable_by(actor).filter(pk__in=others.values("pk"))
        skipped = others.count() - allowed.count()
        count = allowed.update(is_active=False)
        self.message_user(request, f"{count} people deactivated.")
        if skipped:
            self.message_user(
                request,
                f"{skipped} not deactivated: only a superuser can change an account that runs the admin.",
                messages.WARNING,
            )

    @admin.action(description="Send the selected people their invitation again")
    def resend_invitation(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """To active people who have never signed in, and whom the actor may manage."""
        actor = acting_user(request)
        chosen = queryset.filter(is_active=True, last_login__isnull=True)
        people = list(User.objects.manageable_by(actor).filter(pk__in=chosen.values("pk")))
        invitations_send(users=people)
        self.message_user(request, f"{len(people)} invitations queued.")
        skipped = queryset.count() - len(people)
        if skipped:
            self.message_user(
                request,
                f"{skipped} not invited: they have signed in already, are deactivated, "
                "or run the admin (only a superuser can invite them again).",
                messages.WARNING,
            )


@admin.register(MailDelivery)
class MailDeliveryAdmin(admin.ModelAdmin):
    """E-mail on its way and sent, for staff to see what went; written only by the mail jobs."""

    list_display = ["queued_at", "kind", "to", "subject", "status", "status_at", "attempts"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "subject"]
    date_hierarchy = "queued_at"
    fields = readonly_fields = (
        "kind",
        "person",
        "to",
        "subject",
        "status",
        "status_at",
        "attempts",
        "error",
        "queued_at",
    )
    list_select_related = ["person"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: MailDelivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: MailDelivery | None = None) -> bool:
        return False


@admin.register(RosterImport)
class RosterImportAdmin(admin.ModelAdmin):
    """Every roster import that changed something, for staff to read; written only by the imports."""

    list_display = ["created_at", "by", "kind", "file_name", "schools_added", "people_added", "people_updated"]
    list_display += ["people_deactivated", "people_skipped"]
    list_filter = ["kind"]
    search_fields = ["file_name", "summary"]
    date_hierarchy = "created_at"
    list_select_related = ["by"]
    fields = readonly_fields = (
        "created_at",
        "by",
        "kind",
        "file_name",
        "file_sha256",
        "schools_added",
        "schools_updated",
        "people_added",
        "people_updated",
        "people_deactivated",
        "people_skipped",
        "summary",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RosterImport | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RosterImport | None = None) -> bool:
        return False


admin.site.site_url = "/"
