from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.lib.csvfile import CsvError, read_file
from portal.services import roster_import


class Command(BaseCommand):
    help = "Import schools and people from two CSV files (all rows or none). See the README for the columns."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schools_csv", type=Path)
        parser.add_argument("users_csv", type=Path)

    def handle(self, *args: Any, schools_csv: Path, users_csv: Path, **options: Any) -> None:
        try:
            result = roster_import(
                schools_text=read_file(schools_csv),
                users_text=read_file(users_csv),
                schools_filename=schools_csv.name,
                users_filename=users_csv.name,
            )
        except CsvError as failure:
            for error in failure.errors:
                self.stderr.write(str(error))
            raise CommandError(failure.summary) from None
        self.stdout.write(self.style.SUCCESS(result.summary()))
