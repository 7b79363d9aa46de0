from typing import Any

from django.core.management.base import BaseCommand

from surveys.models import Cycle
from surveys.services import figures_release


class Command(BaseCommand):
    help = (
        "Release survey figures that are due: a batch of enough new responses, or a cycle's closing "
        "release. Pages do this too; run it daily so closed cycles get their final figures unseen."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        made = 0
        for cycle in Cycle.objects.order_by("opens_on"):
            release = figures_release(cycle=cycle)
            if release is not None:
                made += 1
                kind = "closing release" if release.closing else "release"
                self.stdout.write(f"{cycle.name}: {kind} {release.number}, {release.responses} responses.")
        self.stdout.write(f"{made} release{'s' if made != 1 else ''} made.")
