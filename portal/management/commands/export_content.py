"""Export the district's shared content as JSON: schools, practices with their
iterations, failures and adoptions, showcases with their sessions and debriefs, and
survey cycles with their summary figures. No passwords, no individual survey answers,
and the author of an anonymous practice stays anonymous."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from portal.models import School
from practices.models import Practice
from showcases.models import Showcase
from surveys.dashboard import build_dashboard
from surveys.models import Cycle
from surveys.stats import FIGURES


class Command(BaseCommand):
    help = "Export the district's content (not passwords or individual survey answers) to a JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", type=Path)

    def handle(self, *args, output: Path, **options) -> None:  # type: ignore[no-untyped-def]
        practices = (
            Practice.objects.select_related("school", "author", "adapted_from")
            .prefetch_related("iterations", "failures", "facets", "adoptions__school")
            .order_by("pk")
        )
        data = {
            "schools": list(School.objects.values("slug", "name", "level", "enrollment", "frl_percent", "locale")),
            "practices": [self._practice(p) for p in practices.iterator(chunk_size=500)],
            "showcases": [
                {
                    "title": s.title,
                    "host_school": s.host_school.slug,
                    "status": s.status,
                    "description": s.description,
                    "impact": s.impact,
                    "evidence": s.evidence,
                    "focus_question": s.focus_question,
                    "sessions": [
                        {
                            "starts_at": slot.starts_at,
                            "ends_at": slot.ends_at,
                            "capacity": slot.capacity,
                            "seats_taken": slot.seats_taken,
                            "location": slot.location,
                            "cancelled": slot.is_cancelled,
                            "debrief_notes": slot.debrief_notes,
                        }
                        for slot in s.slots.all()
                    ],
                }
                for s in Showcase.objects.select_related("host_school").prefetch_related("slots").order_by("pk")
            ],
            "survey_cycles": [self._cycle(c) for c in Cycle.objects.order_by("opens_on")],
        }
        output.write_text(json.dumps(data, cls=DjangoJSONEncoder, indent=1))
        self.stdout.write(
            f"Exported {len(data['schools'])} schools, {len(data['practices'])} practices, {len(data['showcases'])} showcases to {output}."
        )

    def _practice(self, practice: Practice) -> dict:
        return {
            "id": practice.pk,
            "title": practice.title,
            "school": practice.school.slug,
            "author": None if practice.anonymous else practice.author.username,
            "status": practice.status,
            "visibility": practice.visibility,
            "adapted_from": practice.adapted_from_id,
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

    def _cycle(self, cycle: Cycle) -> dict:
        dashboard = build_dashboard(cycle, viewer=_Nobody())
        return {
            "slug": cycle.slug,
            "name": cycle.name,
            "opens_on": cycle.opens_on,
            "closes_on": cycle.closes_on,
            "responses": dashboard.respondents,
            "summary": [
                {
                    "tension": number,
                    **(
                        {name: f.value(name) for name in FIGURES}
                        if not f.suppressed
                        else {"n": "fewer than 5 responses"}
                    ),
                }
                for number, f in dashboard.district.items()
            ],
        }


class _Nobody:
    """The export is no one's view: no personal answers are added."""

    role = ""
