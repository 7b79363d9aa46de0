from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from portal.models import School, User


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
        return school.people_total  # type: ignore[attr-defined]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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
        return fields

    @admin.action(description="Deactivate the selected people (they can no longer sign in)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = queryset.exclude(pk=request.user.pk).update(is_active=False)
        self.message_user(request, f"{count} people deactivated.")

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # People are deactivated, not deleted: their practices and history stay.
        return request.user.is_superuser


admin.site.site_url = "/"
