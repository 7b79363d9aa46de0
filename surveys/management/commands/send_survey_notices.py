from typing import Any

from django.core.management.base import BaseCommand

from surveys.services import CLOSING_NOTICE_DAYS, survey_notices_send


class Command(BaseCommand):
    help = (
        "Tell principals and district leaders that the leadership survey is open (once per cycle), "
        f"and remind those who have not answered in its last {CLOSING_NOTICE_DAYS} days (once). "
        "Run daily; safe to run twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        opened, closing = survey_notices_send()
        self.stdout.write(
            f"Sent {opened} notice(s) that the survey is open and {closing} reminder(s) before it closes."
        )
