from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.lib.uploads import CLEANED_TYPES, UnreadableUpload
from practices.models import Attachment
from practices.services import attachment_strip_metadata


class Command(BaseCommand):
    help = (
        "Remove the details that could name their author from attachments stored before uploads "
        "were cleaned. Run once after upgrading; running it again changes nothing in images."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List what would be done, change nothing.")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        counts = {"cleaned": 0, "unchanged": 0, "left": 0}
        for attachment in Attachment.objects.select_related("practice").order_by("pk").iterator():
            where = f"practice {attachment.practice_id}, “{attachment.original_name}” (attachment {attachment.pk})"
            if attachment.content_type not in CLEANED_TYPES:
                self.stderr.write(f"{where}: a {attachment.content_type} file cannot be cleaned; review it by hand")
                counts["left"] += 1
                continue
            if dry_run:
                self.stdout.write(f"{where}: would be cleaned")
                continue
            try:
                changed = attachment_strip_metadata(attachment=attachment)
            except UnreadableUpload as error:
                self.stderr.write(f"{where}: could not be read: {error}")
                counts["left"] += 1
                continue
            except OSError:
                self.stderr.write(f"{where}: the file is missing from storage")
                counts["left"] += 1
                continue
            counts["cleaned" if changed else "unchanged"] += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"{counts['cleaned']} cleaned, {counts['unchanged']} had nothing to remove, "
                f"{counts['left']} left as they are (listed above)."
            )
        )
