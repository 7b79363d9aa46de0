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
        from portal.models import School, User  # noqa: PLC0415
        from portal.signals import people_moved  # noqa: PLC0415
        from practices.models import Adoption, Practice  # noqa: PLC0415
        from showcases.models import Showcase, VisitRequest, VisitSlot  # noqa: PLC0415
        from showcases.signals import session_changed  # noqa: PLC0415

        # The dashboard's summaries follow every change to a practice, an adoption, a visit and
        # a session; the feature apps know nothing of them (nothing below imports insights).
        pre_save.connect(summaries.practice_before_save, sender=Practice, dispatch_uid="insights-summary-before")
        post_save.connect(summaries.practice_after_save, sender=Practice, dispatch_uid="insights-summary-save")
        post_delete.connect(summaries.practice_after_delete, sender=Practice, dispatch_uid="insights-summary-delete")
        for model, receiver in (
            (Adoption, summaries.adoption_after_write),
            (VisitRequest, summaries.visit_after_write),
        ):
            post_save.connect(receiver, sender=model, dispatch_uid=f"insights-flows-save-{model.__name__}")
            post_delete.connect(receiver, sender=model, dispatch_uid=f"insights-flows-delete-{model.__name__}")
        pre_save.connect(summaries.slot_before_save, sender=VisitSlot, dispatch_uid="insights-flows-slot-before")
        post_save.connect(summaries.slot_after_save, sender=VisitSlot, dispatch_uid="insights-flows-slot-save")
        post_delete.connect(summaries.slot_after_delete, sender=VisitSlot, dispatch_uid="insights-flows-slot-delete")
        post_delete.connect(summaries.school_after_delete, sender=School, dispatch_uid="insights-flows-school-delete")
        session_changed.connect(summaries.session_after_change, sender=VisitSlot, dispatch_uid="insights-flows-session")
        post_save.connect(summaries.showcase_after_save, sender=Showcase, dispatch_uid="insights-flows-showcase")
        post_save.connect(summaries.person_after_save, sender=User, dispatch_uid="insights-flows-person")
        people_moved.connect(summaries.people_after_move, sender=User, dispatch_uid="insights-flows-people-moved")
