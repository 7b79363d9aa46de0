from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.services import RosterImportError, roster_import


class Command(BaseCommand):
    help = "Import schools and people from two CSV files (all rows or none). See the README for the columns."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schools_csv", type=Path)
        parser.add_argument("users_csv", type=Path)

    def handle(self, *args, schools_csv: Path, users_csv: Path, **options) -> None:  # type: ignore[no-untyped-def]
        texts = []
        for path in (schools_csv, users_csv):
            try:
                texts.append(path.read_text(encoding="utf-8-sig"))
            except FileNotFoundError:
                raise CommandError(f"{path}: no such file") from None
            except UnicodeDecodeError:
                raise CommandError(f"{path}: not UTF-8 text; save it as CSV UTF-8") from None
        try:
            result = roster_import(
                schools_text=texts[0],
                users_text=texts[1],
                schools_filename=schools_csv.name,
                users_filename=users_csv.name,
            )
        except RosterImportError as failure:
            for error in failure.errors:
                self.stderr.write(str(error))
            raise CommandError(f"Nothing was imported: {len(failure.errors)} problem(s) found.") from None
        self.stdout.write(self.style.SUCCESS(result.summary()))
