from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Pages that combine the feature apps; nothing below imports this app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "insights"
    verbose_name = "District insights"
