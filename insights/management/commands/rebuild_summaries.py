"""Count every practice, adoption, adaptation and session again into the district dashboard's summaries.

The summaries follow each change as it is made; this is the safety net, run every night by
the job queue's schedule (portal.jobs.PERIODIC_JOBS), and by hand after loading data in bulk.
"""

from typing import Any

from django.core.management.base import BaseCommand

from insights.models import FlowDay
from insights.summaries import summaries_rebuild


class Command(BaseCommand):
    help = "Count every practice, adoption, adaptation and session again into the district dashboard's summaries."

    def handle(self, *args: Any, **options: Any) -> None:
        days = summaries_rebuild()
        self.stdout.write(
            f"Summaries rebuilt: {days} school-days with practices published, "
            f"{FlowDay.objects.count()} rows of flows between schools and sessions hosted (a day and a pair each)."
        )
