from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_save


class InsightsConfig(AppConfig):
    """Pages that combine the feature apps; nothing below imports this app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "insights"
    verbose_name = "District insights"

    def ready(self) -> None:
        # Models can be imported only once the app registry is ready.
        from insights import summaries  # noqa: PLC0415
        from practices.models import Practice  # noqa: PLC0415

        # The dashboard's summaries follow every change to a practice; the practices app
        # knows nothing of them (nothing below imports insights).
        pre_save.connect(summaries.practice_before_save, sender=Practice, dispatch_uid="insights-summary-before")
        post_save.connect(summaries.practice_after_save, sender=Practice, dispatch_uid="insights-summary-save")
        post_delete.connect(summaries.practice_after_delete, sender=Practice, dispatch_uid="insights-summary-delete")
