"""Survey workflows: answering, importing and exporting responses."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from portal.figures import figures_changed
from portal.lib.csvfile import RowError, csv_text, read_rows
from portal.models import ENROLLMENT_BANDS, FRL_BANDS, Locale, Role, SchoolLevel, User
from surveys.models import MIN_GROUP, Answer, Cycle, Priority, Response, Tension

SEGMENTS = ["role", "school_level", "enrollment_band", "frl_band", "locale"]
SEGMENT_CHOICES: dict[str, list[str]] = {
    "role": list(Role.values),
    "school_level": list(SchoolLevel.values),
    "enrollment_band": [key for key, _label, _low in ENROLLMENT_BANDS],
    "frl_band": [key for key, _label, _low in FRL_BANDS],
    "locale": list(Locale.values),
}
ITEM_PARTS = ["position", "resources", "priority", "comment"]


def item_columns() -> list[str]:
    return [f"q{k}_{part}" for k in range(1, 8) for part in ITEM_PARTS]


IMPORT_COLUMNS = ["respondent", *SEGMENTS, *item_columns()]
EXPORT_COLUMNS = [*SEGMENTS, *item_columns()]


class SurveyImportError(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


def response_save(*, cycle: Cycle, user: User, answers: dict[int, dict[str, object]]) -> Response:
    """Create or update this person's one response; a double or concurrent submit ends
    with one response (the database's unique constraint, and the row lock below)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                response, _created = Response.objects.get_or_create(
                    cycle=cycle, respondent=user, defaults={"role": user.role}
                )
        except IntegrityError:
            response = Response.objects.get(cycle=cycle, respondent=user)
        response = Response.objects.select_for_update().get(pk=response.pk)
        response.snapshot(user)
        response.save()
        existing = {answer.tension_id: answer for answer in response.answers.all()}
        for tension_id, values in answers.items():
            answer = existing.get(tension_id) or Answer(response=response, tension_id=tension_id)
            for name, value in values.items():
                setattr(answer, name, value)
            answer.save()
        transaction.on_commit(lambda: figures_changed("survey"))
    return response


@dataclass
class ImportResult:
    responses: int
    answers: int


def _parse_row(number: int, row: dict[str, str], filename: str, errors: list[RowError]) -> dict:
    parsed: dict[str, object] = {"row": number}
    for segment in SEGMENTS:
        value = row.get(segment, "").strip().lower()
        if segment == "role" and not value:
            errors.append(RowError(filename, number, segment, "is required"))
        elif value and value not in SEGMENT_CHOICES[segment]:
            errors.append(
                RowError(
                    filename,
                    number,
                    segment,
                    f"{row.get(segment)!r} is not one of {', '.join(SEGMENT_CHOICES[segment])}",
                )
            )
        parsed[segment] = value
    for k in range(1, 8):
        position = row.get(f"q{k}_position", "").strip()
        if position and position not in {"1", "2", "3", "4", "5"}:
            errors.append(
                RowError(
                    filename, number, f"q{k}_position", f"{position!r} must be a whole number from 1 to 5, or blank"
                )
            )
        resources = row.get(f"q{k}_resources", "").strip().lower()
        if resources and resources not in {"yes", "no"}:
            errors.append(
                RowError(
                    filename, number, f"q{k}_resources", f"{row.get(f'q{k}_resources')!r} must be yes, no or blank"
                )
            )
        priority = row.get(f"q{k}_priority", "").strip().lower()
        if priority and priority not in Priority.values:
            errors.append(
                RowError(
                    filename,
                    number,
                    f"q{k}_priority",
                    f"{row.get(f'q{k}_priority')!r} must be low, medium, high or blank",
                )
            )
        parsed[k] = {
            "position": int(position) if position in {"1", "2", "3", "4", "5"} else None,
            "dedicated_resources": {"yes": True, "no": False}.get(resources),
            "priority": priority or None,
            "comment": row.get(f"q{k}_comment", "").strip(),
        }
    return parsed


def responses_import(*, cycle: Cycle, text: str, filename: str = "responses.csv") -> ImportResult:
    """Bring in earlier results: every row is checked, then all are saved or none."""
    errors: list[RowError] = []
    read = read_rows(text, filename, IMPORT_COLUMNS, [], errors)
    if errors:
        raise SurveyImportError(errors)
    rows = []
    usernames: dict[str, int] = {}
    for number, row in read:
        parsed = _parse_row(number, row, filename, errors)
        username = row.get("respondent", "")
        if username:
            if username.lower() in usernames:
                errors.append(
                    RowError(
                        filename,
                        number,
                        "respondent",
                        f"{username!r} already appears in row {usernames[username.lower()]}",
                    )
                )
            usernames[username.lower()] = number
        parsed["respondent"] = username
        rows.append(parsed)
    people = {
        user.username.lower(): user
        for user in User.objects.filter(username__in=[r["respondent"] for r in rows if r["respondent"]])
    }
    answered = set(
        Response.objects.filter(cycle=cycle, respondent__in=people.values()).values_list(
            "respondent__username", flat=True
        )
    )
    for parsed in rows:
        username = str(parsed["respondent"])
        if not username:
            continue
        if username.lower() not in people:
            errors.append(RowError(filename, int(parsed["row"]), "respondent", f"no person with username {username!r}"))
        elif people[username.lower()].username in answered:
            errors.append(
                RowError(
                    filename, int(parsed["row"]), "respondent", f"{username!r} already has a response in {cycle.name}"
                )
            )
    if errors:
        raise SurveyImportError(sorted(errors, key=lambda error: (error.row, error.column)))
    tensions = {tension.number: tension for tension in Tension.objects.all()}
    answers = 0
    with transaction.atomic():
        for parsed in rows:
            user = people.get(str(parsed["respondent"]).lower())
            response = Response.objects.create(
                cycle=cycle, respondent=user, imported=True, **{segment: parsed[segment] for segment in SEGMENTS}
            )
            batch = [
                Answer(response=response, tension=tensions[k], **parsed[k])  # type: ignore[arg-type]
                for k in range(1, 8)
                if any(value not in (None, "") for value in parsed[k].values())  # type: ignore[union-attr]
            ]
            Answer.objects.bulk_create(batch)
            answers += len(batch)
        transaction.on_commit(lambda: figures_changed("survey"))
    return ImportResult(responses=len(rows), answers=answers)


def _anonymise(rows: list[dict[str, str]]) -> None:
    """Generalise segment values until every combination covers at least MIN_GROUP rows."""
    suppressed = "suppressed"
    for segment in SEGMENTS:
        counts: dict[str, int] = {}
        for row in rows:
            counts[row[segment]] = counts.get(row[segment], 0) + 1
        for row in rows:
            if row[segment] and counts[row[segment]] < MIN_GROUP:
                row[segment] = suppressed
    while True:
        combos: dict[tuple, int] = {}
        for row in rows:
            key = tuple(row[s] or suppressed for s in SEGMENTS)
            combos[key] = combos.get(key, 0) + 1
        if all(count >= MIN_GROUP for count in combos.values()):
            return
        # Generalise, for everyone, the segment with the most distinct values left.
        candidates = [s for s in SEGMENTS if any(row[s] not in ("", suppressed) for row in rows)]
        if not candidates:
            return
        widest = max(candidates, key=lambda s: len({row[s] for row in rows}))
        for row in rows:
            row[widest] = suppressed


def responses_export(*, cycle: Cycle) -> str:
    """Anonymised answers: no names or ids, shuffled, rare segments generalised, and
    comments only when the cycle has at least MIN_GROUP responses."""
    responses = list(Response.objects.filter(cycle=cycle).prefetch_related("answers__tension"))
    if len(responses) < MIN_GROUP:
        responses = []  # too few to share at all
    show_comments = len(responses) >= MIN_GROUP
    rows = []
    for response in responses:
        row = {segment: getattr(response, segment) for segment in SEGMENTS}
        for column in item_columns():
            row[column] = ""
        for answer in response.answers.all():
            k = answer.tension.number
            row[f"q{k}_position"] = str(answer.position or "")
            row[f"q{k}_resources"] = {True: "yes", False: "no"}.get(answer.dedicated_resources, "")
            row[f"q{k}_priority"] = answer.priority or ""
            row[f"q{k}_comment"] = answer.comment if show_comments else ""
        rows.append(row)
    _anonymise(rows)
    random.SystemRandom().shuffle(rows)
    return csv_text(EXPORT_COLUMNS, [[row[column] for column in EXPORT_COLUMNS] for row in rows])
