"""Three survey cycles with believable movement: the district slowly leans towards
sharing process and failures (tension 7) and adapting with experience (tension 5). Not
everyone answers (about five in six do), and where a school stands depends in part on whom it
serves, as the "Look Both Ways" study found: schools serving more students on free or reduced
lunch lean towards central decisions and resources by need, wealthier ones towards readiness
and buying support from outside."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from portal.lib.bulkload import batched
from portal.models import Role, User
from surveys.models import Answer, Cycle, Priority, Response, Tension
from surveys.services import figures_release

# Typical position per tension in the first cycle, and drift per cycle.
BASELINE = {1: 2.3, 2: 3.4, 3: 2.6, 4: 2.2, 5: 3.6, 6: 3.1, 7: 1.9}
DRIFT = {1: 0.1, 2: 0.0, 3: 0.1, 4: 0.0, 5: 0.2, 6: 0.1, 7: 0.45}
RESOURCES = {1: 0.9, 2: 0.85, 3: 0.88, 4: 0.86, 5: 0.9, 6: 0.84, 7: 0.78}
HIGH = {1: 0.45, 2: 0.4, 3: 0.5, 4: 0.35, 5: 0.42, 6: 0.3, 7: 0.28}
COMMENTS = [
    "We pilot in ready schools first, then scale to schools with more need.",
    "Principals want more autonomy on scheduling.",
    "Sharing what failed still feels risky for new principals.",
    "We buy curriculum but build coaching capacity ourselves.",
    "The strategy changed twice this year; people need stability.",
]

LARGE_RESPONSES_PER_CYCLE = 600
XL_RESPONSES_PER_CYCLE = 5_000
RESPONSE_SHARE = 0.85
# Lean per tension by free/reduced-lunch band (low FRL is the wealthier school).
FRL_LEAN = {
    "high": {1: -0.4, 3: -0.5, 4: -0.3},
    "mid_high": {1: -0.2, 3: -0.2},
    "low": {1: 0.2, 3: 0.5, 4: 0.5},
}


def _cycles() -> list[Cycle]:
    today = timezone.localdate()
    specs = [
        ("Fall 2025", "fall-2025", today - timedelta(days=420), today - timedelta(days=390)),
        ("Spring 2026", "spring-2026", today - timedelta(days=220), today - timedelta(days=190)),
        ("Fall 2026", "current", today - timedelta(days=10), today + timedelta(days=20)),
    ]
    return [
        Cycle.objects.get_or_create(slug=slug, defaults={"name": name, "opens_on": opens, "closes_on": closes})[0]
        for name, slug, opens, closes in specs
    ]


def _answers(response: Response, tensions: list[Tension], cycle_index: int, rng: random.Random) -> list[Answer]:
    rows = []
    for tension in tensions:
        if rng.random() < 0.06:
            continue  # skipped item
        centre = BASELINE[tension.number] + DRIFT[tension.number] * cycle_index
        centre += FRL_LEAN.get(response.frl_band, {}).get(tension.number, 0)
        position = min(5, max(1, round(rng.gauss(centre, 0.95))))
        rows.append(
            Answer(
                response=response,
                tension=tension,
                position=position,
                dedicated_resources=rng.random() < RESOURCES[tension.number] if rng.random() > 0.05 else None,
                priority=(
                    Priority.HIGH
                    if rng.random() < HIGH[tension.number]
                    else rng.choice([Priority.LOW, Priority.MEDIUM])
                )
                if rng.random() > 0.05
                else None,
                comment=rng.choice(COMMENTS) if rng.random() < 0.08 else "",
            )
        )
    return rows


@transaction.atomic
def seed_surveys(*, rng: random.Random, per_cycle: int | None = None) -> int:
    cycles = _cycles()
    tensions = list(Tension.objects.all())
    people = list(
        User.objects.filter(role__in=[Role.PRINCIPAL, Role.DISTRICT_LEADER], is_active=True).select_related("school")
    )
    for index, cycle in enumerate(cycles):
        # The current cycle is still open: the demo principal and leader have not answered yet.
        answered = set(cycle.responses.exclude(respondent=None).values_list("respondent_id", flat=True))
        respondents = [
            p
            for p in people
            if p.pk not in answered and not (cycle.slug == "current" and p.username in {"principal", "leader"})
        ]
        # Imported responses (no respondent) count too, so a second run adds nothing.
        existing = cycle.responses.count()
        if per_cycle is None:
            if existing:
                continue
            respondents = [person for person in respondents if rng.random() < RESPONSE_SHARE]
        target = (per_cycle or existing + len(respondents)) - existing
        if target <= 0 or not (respondents or existing):
            continue
        templates = respondents or people
        # In batches of responses, each inserted at once and then given its answers: the
        # largest scale has thousands a cycle.
        for batch in batched(range(target), 1000):
            responses = []
            for n in batch:
                person = respondents[n] if n < len(respondents) else None
                response = Response(cycle=cycle, respondent=person, imported=person is None)
                response.snapshot(person if person is not None else templates[n % len(templates)])
                responses.append(response)
            Response.objects.bulk_create(responses)
            answers = [answer for response in responses for answer in _answers(response, tensions, index, rng)]
            Answer.objects.bulk_create(answers, batch_size=5000)
    for cycle in cycles:
        figures_release(cycle=cycle)
    return Response.objects.count()
