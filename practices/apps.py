from django.apps import AppConfig


class PracticesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "practices"

    def ready(self) -> None:
        # Models can be imported only once the app registry is ready.
        from practices import notices  # noqa: PLC0415

        notices.register()
