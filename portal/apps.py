from django.apps import AppConfig

from portal.lib import kept_pages


class PortalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "portal"
    verbose_name = "Schools and people"

    def ready(self) -> None:
        kept_pages.watch_writes()
