from typing import Any

from django.core.management.base import BaseCommand

from showcases.services import reminders_send


class Command(BaseCommand):
    help = "E-mail reminders the day before approved visits, and debrief invitations after them. Run daily; safe to run twice."

    def handle(self, *args: Any, **options: Any) -> None:
        reminders, invitations = reminders_send()
        self.stdout.write(f"Sent {reminders} reminder(s) and {invitations} debrief invitation(s).")
