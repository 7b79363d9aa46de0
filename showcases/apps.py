from django.apps import AppConfig


class ShowcasesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "showcases"
    verbose_name = "Showcase visits"
