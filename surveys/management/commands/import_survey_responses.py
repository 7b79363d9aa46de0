from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.lib.csvfile import CsvError, read_file
from surveys.models import Cycle
from surveys.services import responses_import


class Command(BaseCommand):
    help = (
        "Import survey responses from CSV into a cycle: all rows or none; errors name row and column; "
        "rows already imported and blank rows are skipped and reported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cycle_slug")
        parser.add_argument("csv_file", type=Path)

    def handle(self, *args: Any, cycle_slug: str, csv_file: Path, **options: Any) -> None:
        cycle = Cycle.objects.filter(slug=cycle_slug).first()
        if cycle is None:
            raise CommandError(f"No survey cycle with slug {cycle_slug!r}.")
        try:
            result = responses_import(cycle=cycle, text=read_file(csv_file), filename=csv_file.name)
        except CsvError as failure:
            for error in failure.errors:
                self.stderr.write(str(error))
            raise CommandError(failure.summary) from None
        summary = result.summary(cycle)
        self.stdout.write(self.style.SUCCESS(summary) if result.responses else f"Nothing new was imported. {summary}")
