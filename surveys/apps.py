from django.apps import AppConfig


class SurveysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "surveys"
    verbose_name = "Leadership survey"

    def ready(self) -> None:
        # Models can be imported only once the app registry is ready.
        from portal.notifications.models import register_visibility  # noqa: PLC0415
        from surveys.models import Cycle  # noqa: PLC0415

        # A notice about a cycle is seen by those who may see the survey.
        register_visibility(Cycle, lambda user: Cycle.objects.visible_to(user))
