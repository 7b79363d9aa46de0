from django.apps import AppConfig


class ShowcasesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "showcases"
    verbose_name = "Showcase visits"

    def ready(self) -> None:
        # Models can be imported only once the app registry is ready.
        from portal.notifications.models import register_visibility  # noqa: PLC0415
        from showcases.models import VisitRequest  # noqa: PLC0415

        # A notice about a visit is seen while its visitor may still see the visit.
        register_visibility(VisitRequest, lambda user: VisitRequest.objects.visible_to(user))
