from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.models import Cycle
from surveys.services import SurveyImportError, responses_import


class Command(BaseCommand):
    help = (
        "Import survey responses from CSV into a cycle: all rows or none; errors name row and column; "
        "rows already imported and blank rows are skipped and reported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cycle_slug")
        parser.add_argument("csv_file", type=Path)

    def handle(self, *args, cycle_slug: str, csv_file: Path, **options) -> None:  # type: ignore[no-untyped-def]
        cycle = Cycle.objects.filter(slug=cycle_slug).first()
        if cycle is None:
            raise CommandError(f"No survey cycle with slug {cycle_slug!r}.")
        try:
            text = csv_file.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise CommandError(f"{csv_file}: no such file") from None
        except UnicodeDecodeError:
            raise CommandError(f"{csv_file}: not UTF-8 text; save it as CSV UTF-8") from None
        try:
            result = responses_import(cycle=cycle, text=text, filename=csv_file.name)
        except SurveyImportError as failure:
            for error in failure.errors:
                self.stderr.write(str(error))
            raise CommandError(f"Nothing was imported: {len(failure.errors)} problem(s) found.") from None
        summary = result.summary(cycle)
        self.stdout.write(self.style.SUCCESS(summary) if result.responses else f"Nothing new was imported. {summary}")
