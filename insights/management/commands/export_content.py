"""Export the district's shared content as JSON: schools, practices with their
iterations, failures and adoptions, showcases with their sessions, and survey cycles
with their summary figures. No passwords, no individual survey answers.

An export is read by someone, so it holds what its reader may open, with people named as
that reader may see them (portal.naming): by default the district office's view (entries
shared with the whole district, published showcases, the survey summaries, and no
anonymous author's name); with `--reader USERNAME`, what that person may open.
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Exists, OuterRef, QuerySet

from portal.models import School, User
from portal.naming import may_name
from practices.models import Practice
from showcases.models import RequestStatus, Showcase, VisitRequest
from surveys.dashboard import build_dashboard
from surveys.models import Cycle
from surveys.stats import FIGURES, SUPPRESSED


class Command(BaseCommand):
    help = "Export the district's content (not passwords or individual survey answers) to a JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", type=Path)
        parser.add_argument(
            "--reader",
            metavar="USERNAME",
            help="Export what this person may open, naming people as they may see them "
            "(default: what the whole district office may open).",
        )

    def handle(self, *args: Any, output: Path, reader: str | None = None, **options: Any) -> None:
        self.reader = self._reader(reader)
        self.visited = (
            set()
            if self.reader is None
            else set(
                VisitRequest.objects.filter(requester=self.reader, status=RequestStatus.APPROVED).values_list(
                    "slot_id", flat=True
                )
            )
        )
        shown = self._practices()
        practices = (
            shown.select_related("school", "author")
            .annotate(original_shown=Exists(shown.filter(pk=OuterRef("adapted_from_id"))))
            .prefetch_related("iterations", "failures", "facets", "adoptions__school")
            .order_by("pk")
        )
        data: dict[str, list[Any]] = {
            "schools": list(School.objects.values("slug", "name", "level", "enrollment", "frl_percent", "locale")),
            "practices": [self._practice(p) for p in practices.iterator(chunk_size=500)],
            "showcases": [self._showcase(s) for s in self._showcases()],
            "survey_cycles": [self._cycle(c) for c in self._cycles()],
        }
        output.write_text(json.dumps(data, cls=DjangoJSONEncoder, indent=1))
        self.stdout.write(
            f"Exported {len(data['schools'])} schools, {len(data['practices'])} practices, {len(data['showcases'])} showcases to {output}."
        )

    def _reader(self, username: str | None) -> User | None:
        if username is None:
            return None
        reader = User.objects.filter(username=username, is_active=True).select_related("school").first()
        if reader is None:
            raise CommandError(f"No active person has the username {username!r}.")
        return reader

    def _practices(self) -> QuerySet[Practice]:
        if self.reader is None:
            return Practice.objects.visible_to_all_at(None)
        return Practice.objects.visible_to(self.reader)

    def _showcases(self) -> QuerySet[Showcase]:
        showcases = Showcase.objects.published() if self.reader is None else Showcase.objects.visible_to(self.reader)
        return showcases.select_related("host_school").prefetch_related("slots").order_by("pk")

    def _cycles(self) -> QuerySet[Cycle]:
        cycles = Cycle.objects.all() if self.reader is None else Cycle.objects.visible_to(self.reader)
        return cycles.order_by("opens_on")

    def _practice(self, practice: Practice) -> dict:
        named = may_name(practice.author, reader=self.reader, anonymous=practice.anonymous)
        return {
            "id": practice.pk,
            "title": practice.title,
            "school": practice.school.slug,
            "author": practice.author.username if named else None,
            "status": practice.status,
            "visibility": practice.visibility,
            "adapted_from": practice.adapted_from_id if getattr(practice, "original_shown", False) else None,
            "anonymous": practice.anonymous,
            **{name: getattr(practice, name) for name in Practice.TEXT_FIELDS if name != "title"},
            **{name: getattr(practice, name) for name in ("tag_names", "published_at", "created_at", "updated_at")},
            "facets": [f"{facet.kind}:{facet.slug}" for facet in practice.facets.all()],
            "iterations": [
                {"when": i.when, "tried": i.tried, "observed": i.observed, "changed": i.changed}
                for i in practice.iterations.all()
            ],
            "failures": [
                {"tried": f.tried, "what_happened": f.what_happened, "why": f.why, "lesson": f.lesson}
                for f in practice.failures.all()
            ],
            "adoptions": [
                {"school": a.school.slug if a.school else None, "status": a.status} for a in practice.adoptions.all()
            ],
        }

    def _showcase(self, showcase: Showcase) -> dict:
        reader = self.reader
        return {
            "title": showcase.title,
            "host_school": showcase.host_school.slug,
            "status": showcase.status,
            "description": showcase.description,
            "impact": showcase.impact,
            "evidence": showcase.evidence,
            "focus_question": showcase.focus_question,
            "sessions": [
                {
                    "starts_at": slot.starts_at,
                    "ends_at": slot.ends_at,
                    "capacity": slot.capacity,
                    "seats_taken": slot.seats_taken,
                    "location": slot.location,
                    "cancelled": slot.is_cancelled,
                    **(
                        {"debrief_notes": slot.debrief_notes}
                        if reader is not None and slot.can_read_debrief(reader, attended=slot.pk in self.visited)
                        else {}
                    ),
                }
                for slot in showcase.slots.all()
            ],
        }

    def _cycle(self, cycle: Cycle) -> dict:
        dashboard = build_dashboard(cycle, viewer=None)
        return {
            "slug": cycle.slug,
            "name": cycle.name,
            "opens_on": cycle.opens_on,
            "closes_on": cycle.closes_on,
            "responses": dashboard.respondents,
            "summary": [
                {
                    "tension": number,
                    **({name: f.value(name) for name in FIGURES} if not f.suppressed else {"n": SUPPRESSED}),
                }
                for number, f in dashboard.district.items()
            ],
        }
