from typing import Any

from django.core.management.base import BaseCommand

from portal.notifications.services import digests_send


class Command(BaseCommand):
    help = (
        "Send each person the weekly digest of new practices from what they follow and from schools like "
        "theirs. Run weekly (by the job queue's schedule); a second run within six days sends nothing again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sent = digests_send()
        self.stdout.write(f"Sent {sent} digest{'s' if sent != 1 else ''}.")
