from typing import Any

from django.core.management.base import BaseCommand

from showcases.services import reflection_reminders_send, reminders_send


class Command(BaseCommand):
    help = (
        "E-mail reminders the day before approved visits, debrief invitations after them, and one "
        "reminder to reflect a few days later to visitors who have not. Run daily; safe to run twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        reminders, invitations = reminders_send()
        reflections = reflection_reminders_send()
        self.stdout.write(
            f"Sent {reminders} reminder(s), {invitations} debrief invitation(s) "
            f"and {reflections} reminder(s) to reflect."
        )
