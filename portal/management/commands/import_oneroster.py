from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.lib.csvfile import CsvError
from portal.models import Role
from portal.oneroster import OneRosterResult, export_from_path, oneroster_import

DISTRICT_ROLES = {"leader": Role.DISTRICT_LEADER, "staff": Role.DISTRICT_STAFF}
# Lines of each list shown at the default verbosity; -v 2 shows them all.
SHOWN = 20


class Command(BaseCommand):
    help = (
        "Import schools and staff from a OneRoster 1.1 or 1.2 CSV export (a folder or a .zip with orgs.csv, "
        "users.csv and optionally manifest.csv and roles.csv): all rows or none. See the README."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The export: a folder or a .zip file.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what the import would change, and change nothing."
        )
        parser.add_argument(
            "--district-role",
            choices=sorted(DISTRICT_ROLES),
            default="leader",
            help="The role of new district-office people (administrators at the district org). Default: leader.",
        )

    def handle(self, *args: Any, path: Path, dry_run: bool, district_role: str, **options: Any) -> None:
        try:
            result = oneroster_import(
                export=export_from_path(path), district_role=DISTRICT_ROLES[district_role], dry_run=dry_run
            )
        except CsvError as failure:
            for error in failure.errors:
                self.stderr.write(str(error))
            raise CommandError(failure.summary) from None
        self._report(result, everything=options["verbosity"] > 1)
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: nothing was changed."))
        else:
            self.stdout.write(self.style.SUCCESS("Imported."))

    def _report(self, result: OneRosterResult, *, everything: bool) -> None:
        self.stdout.write(result.summary())
        sections: list[tuple[str, list[str]]] = [
            ("Schools added", result.schools_added),
            ("Schools renamed", [f"{before} → {after}" for before, after in result.schools_renamed]),
            ("People added", [f"{p.name} <{p.email}>, {p.role} {p.school}".rstrip() for p in result.people_added]),
            (
                "People changed",
                [
                    f"{p.name} <{p.email}>: "
                    + "; ".join(f"{what} {before!r} → {after!r}" for what, before, after in p.changes)
                    for p in result.people_changed
                ],
            ),
            ("People deactivated", [f"{p.name} <{p.email}>: {p.reason}" for p in result.people_deactivated]),
            ("People not added", [f"{p.name} ({p.sourced_id}): {p.reason}" for p in result.people_not_added]),
        ]
        for title, lines in sections:
            if not lines:
                continue
            self.stdout.write(f"\n{title} ({len(lines):,}):")
            for line in lines if everything else lines[:SHOWN]:
                self.stdout.write(f"  {line}")
            if not everything and len(lines) > SHOWN:
                self.stdout.write(f"  … and {len(lines) - SHOWN:,} more (-v 2 lists them all)")
