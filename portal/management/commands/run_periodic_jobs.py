from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.jobs import PERIODIC_JOBS, periodic_jobs_enqueue


class Command(BaseCommand):
    help = (
        "Enqueue the scheduled jobs of a schedule: run `run_periodic_jobs daily` once a day and "
        "`run_periodic_jobs weekly` once a week from a timer (the README's schedule). With the cache "
        "shared (Redis), timers firing on several machines enqueue each period's jobs once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "schedules", nargs="*", help=f"Only these schedules, of {', '.join(sorted(PERIODIC_JOBS))} (default: all)."
        )

    def handle(self, *args: Any, schedules: list[str], **options: Any) -> None:
        unknown = sorted(set(schedules) - set(PERIODIC_JOBS))
        if unknown:
            raise CommandError(f"No schedule named {', '.join(unknown)}; there are {', '.join(sorted(PERIODIC_JOBS))}.")
        enqueued = periodic_jobs_enqueue(schedules or sorted(PERIODIC_JOBS))
        self.stdout.write(f"Enqueued: {', '.join(enqueued)}." if enqueued else "Nothing due.")
