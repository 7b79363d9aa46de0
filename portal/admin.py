from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from portal.http import acting_user
from portal.models import Role, School, User


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    change_list_template = "admin/portal/change_list_with_import.html"
    list_display = ["name", "slug", "level", "enrollment", "frl_percent", "locale", "people_count"]
    list_filter = ["level", "locale"]
    search_fields = ["name", "slug"]
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


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """People. Who may change whom is `User.can_manage` (superusers: everyone; district staff:
    accounts that do not run the admin, and their own), checked here on every way in: the
    change form and its password form (has_change_permission), deletion, and bulk actions.
    Only superusers hand out the district staff role, superuser rights or permissions."""

    form = PortalUserChangeForm
    change_list_template = "admin/portal/change_list_with_import.html"
    list_display = ["username", "email", "first_name", "last_name", "role", "school", "is_active", "last_login"]
    list_filter = ["role", "is_active", "school__level", "school"]
    list_select_related = ["school"]
    search_fields = ["username", "email", "first_name", "last_name", "school__name"]
    autocomplete_fields = ["school"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email"]}),
        ("Place in the district", {"fields": ["role", "school"]}),
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
    readonly_fields = ["last_login", "date_joined"]
    actions = ["deactivate"]

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


admin.site.site_url = "/"
