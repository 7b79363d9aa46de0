"""Survey workflows: answering, importing (and undoing an import), and releasing figures."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from portal.lib.csvfile import BOM, CsvError, CsvRow, RowError, read_rows
from portal.models import ENROLLMENT_BANDS, FRL_BANDS, Locale, Role, SchoolLevel, User
from portal.notifications.models import Notification, NotificationKind, about_key
from portal.notifications.services import notify
from surveys.models import (
    DEDICATED,
    MIN_GROUP,
    SURVEY_ROLES,
    Answer,
    AnswerValues,
    Cycle,
    ImportBatch,
    Priority,
    Release,
    Response,
    Tension,
)
from surveys.stats import SEGMENTS, Row, chained, export_rows, generalise, is_blank, release_figures

SEGMENT_CHOICES: dict[str, list[str]] = {
    "role": list(Role.values),
    "school_level": list(SchoolLevel.values),
    "enrollment_band": [key for key, _label, _low in ENROLLMENT_BANDS],
    "frl_band": [key for key, _label, _low in FRL_BANDS],
    "locale": list(Locale.values),
}
ITEM_PARTS = ["position", "resources", "priority", "comment"]
# As long as a comment typed in the survey form may be.
COMMENT_MAX_LENGTH = 2000
AnswerField = Literal["position", "dedicated_resources", "priority", "comment"]
ANSWER_FIELDS: tuple[AnswerField, ...] = ("position", "dedicated_resources", "priority", "comment")
POSITIONS = {"1", "2", "3", "4", "5"}


def item_columns() -> list[str]:
    return [f"q{k}_{part}" for k in range(1, 8) for part in ITEM_PARTS]


IMPORT_COLUMNS = ["respondent", *SEGMENTS, *item_columns()]


class ImportAlreadyUndone(Exception):
    pass


# --------------------------------------------------------------------------- answering


def response_save(*, cycle: Cycle, user: User, answers: Mapping[int, Mapping[str, object]]) -> Response | None:
    """Create or update this person's one response. Every write to a cycle's responses
    holds a lock on the cycle, so a double or concurrent submit ends with one response
    (the database's unique constraint holds it too), and releases count every response.

    A submission that skips every item is not a response: it saves nothing, and withdraws
    an earlier response. Returns the response, or None when there is none."""
    blank = is_blank([values.get(name) for name in ANSWER_FIELDS] for values in answers.values())
    with transaction.atomic():
        Cycle.objects.select_for_update().get(pk=cycle.pk)
        if blank:
            Response.objects.filter(cycle=cycle, respondent=user).delete()
            figures_release(cycle=cycle)
            return None
        response, _created = Response.objects.get_or_create(cycle=cycle, respondent=user, defaults={"role": user.role})
        response.snapshot(user)
        # Once its respondent has answered through the form, an imported response is theirs:
        # undoing the import no longer removes it.
        response.import_batch = None
        response.save()
        existing = {answer.tension_id: answer for answer in response.answers.all()}
        for tension_id, values in answers.items():
            answer = existing.get(tension_id) or Answer(response=response, tension_id=tension_id)
            for name, value in values.items():
                setattr(answer, name, value)
            answer.save()
        figures_release(cycle=cycle)
    return response


# --------------------------------------------------------------------------- importing


@dataclass
class ImportResult:
    responses: int
    answers: int
    duplicates: list[int] = field(default_factory=list)
    blank: list[int] = field(default_factory=list)
    batch: ImportBatch | None = None

    def summary(self, cycle: Cycle) -> str:
        parts = [f"Imported {self.responses} responses ({self.answers} answers) into {cycle.name}."]
        if self.duplicates:
            parts.append(
                f"{len(self.duplicates)} row{'s were' if len(self.duplicates) != 1 else ' was'} already imported "
                f"and skipped (row{'s' if len(self.duplicates) != 1 else ''} {_row_list(self.duplicates)})."
            )
        if self.blank:
            parts.append(
                f"{len(self.blank)} blank row{'s' if len(self.blank) != 1 else ''} (every item skipped) "
                f"{'are' if len(self.blank) != 1 else 'is'} not a response and skipped "
                f"(row{'s' if len(self.blank) != 1 else ''} {_row_list(self.blank)})."
            )
        return " ".join(parts)


def _row_list(rows: list[int]) -> str:
    shown = ", ".join(str(row) for row in rows[:10])
    return shown + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")


@dataclass
class _ImportRow:
    """One row of a responses file, checked."""

    row: int
    respondent: str  # a username, or empty for an anonymous response
    segments: dict[str, str]
    items: dict[int, AnswerValues]  # by tension number
    fingerprint: str = ""

    def is_blank(self) -> bool:
        return is_blank([values[name] for name in ANSWER_FIELDS] for values in self.items.values())


def _parse_row(row: CsvRow, filename: str, errors: list[RowError]) -> _ImportRow:
    number, values = row
    segments = {}
    for segment in SEGMENTS:
        value = values.get(segment, "").strip().lower()
        if segment == "role" and not value:
            errors.append(RowError(filename, number, segment, "is required"))
        elif value and value not in SEGMENT_CHOICES[segment]:
            errors.append(
                RowError(
                    filename,
                    number,
                    segment,
                    f"{values.get(segment)!r} is not one of {', '.join(SEGMENT_CHOICES[segment])}",
                )
            )
        segments[segment] = value
    items: dict[int, AnswerValues] = {}
    for k in range(1, 8):
        position = values.get(f"q{k}_position", "").strip()
        if position and position not in POSITIONS:
            errors.append(
                RowError(
                    filename, number, f"q{k}_position", f"{position!r} must be a whole number from 1 to 5, or blank"
                )
            )
        resources = values.get(f"q{k}_resources", "").strip().lower()
        if resources and resources not in DEDICATED:
            errors.append(
                RowError(
                    filename, number, f"q{k}_resources", f"{values.get(f'q{k}_resources')!r} must be yes, no or blank"
                )
            )
        priority = values.get(f"q{k}_priority", "").strip().lower()
        if priority and priority not in Priority.values:
            errors.append(
                RowError(
                    filename,
                    number,
                    f"q{k}_priority",
                    f"{values.get(f'q{k}_priority')!r} must be low, medium, high or blank",
                )
            )
        comment = values.get(f"q{k}_comment", "").strip()
        if len(comment) > COMMENT_MAX_LENGTH:
            errors.append(
                RowError(filename, number, f"q{k}_comment", f"is longer than {COMMENT_MAX_LENGTH:,} characters")
            )
        items[k] = {
            "position": int(position) if position in POSITIONS else None,
            "dedicated_resources": DEDICATED.get(resources),
            "priority": priority or None,
            "comment": comment,
        }
    return _ImportRow(number, values.get("respondent", ""), segments, items)


def _fingerprint(parsed: _ImportRow) -> str:
    """The same row, however it is spelled (case, spaces, column order), has the same fingerprint."""
    content = [
        parsed.respondent.lower(),
        *(parsed.segments[segment] for segment in SEGMENTS),
        *([parsed.items[k][name] for name in ANSWER_FIELDS] for k in range(1, 8)),
    ]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()


def responses_import(
    *, cycle: Cycle, text: str, filename: str = "responses.csv", user: User | None = None
) -> ImportResult:
    """Bring in earlier results: every row is checked, then all are saved or none (CsvError
    names every problem by row and column).

    Importing is idempotent: a row the cycle already has from an import (the same
    respondent, segment and answers) is skipped and reported, however often the file is
    imported, while a file with two identical rows brings in both. A blank row (every
    item skipped) is not a response. Each import can be undone as a whole."""
    errors: list[RowError] = []
    read = read_rows(text, filename, required=IMPORT_COLUMNS, errors=errors)
    if errors:
        raise CsvError(errors)
    rows = []
    usernames: dict[str, int] = {}
    for csv_row in read:
        parsed = _parse_row(csv_row, filename, errors)
        username = parsed.respondent
        if username:
            if username.lower() in usernames:
                errors.append(
                    RowError(
                        filename,
                        parsed.row,
                        "respondent",
                        f"{username!r} already appears in row {usernames[username.lower()]}",
                    )
                )
            usernames[username.lower()] = parsed.row
        rows.append(parsed)
    people = {
        user.username.lower(): user
        for user in User.objects.filter(username__in=[parsed.respondent for parsed in rows if parsed.respondent])
    }
    for parsed in rows:
        if parsed.respondent and parsed.respondent.lower() not in people:
            errors.append(
                RowError(filename, parsed.row, "respondent", f"no person with username {parsed.respondent!r}")
            )
    if errors:
        raise CsvError(sorted(errors, key=lambda error: (error.row, error.column)))
    tensions = {tension.number: tension for tension in Tension.objects.all()}
    with transaction.atomic():
        Cycle.objects.select_for_update().get(pk=cycle.pk)  # one import or answer of this cycle at a time
        imported = Counter(
            Response.objects.filter(cycle=cycle).exclude(fingerprint="").values_list("fingerprint", flat=True)
        )
        answered = set(
            Response.objects.filter(cycle=cycle, respondent__in=people.values()).values_list(
                "respondent__username", flat=True
            )
        )
        result = ImportResult(responses=0, answers=0)
        new = []
        for parsed in rows:
            if parsed.is_blank():
                result.blank.append(parsed.row)
                continue
            parsed.fingerprint = _fingerprint(parsed)
            if imported[parsed.fingerprint] > 0:
                imported[parsed.fingerprint] -= 1
                result.duplicates.append(parsed.row)
                continue
            username = parsed.respondent
            if username and username.lower() in people and people[username.lower()].username in answered:
                errors.append(
                    RowError(filename, parsed.row, "respondent", f"{username!r} already has a response in {cycle.name}")
                )
            new.append(parsed)
        if errors:
            raise CsvError(sorted(errors, key=lambda error: (error.row, error.column)))
        if not new:
            return result
        batch = ImportBatch.objects.create(
            cycle=cycle,
            filename=filename[:255],
            file_fingerprint=hashlib.sha256(text.removeprefix(BOM).encode()).hexdigest(),
            imported_by=user,
            rows_imported=len(new),
            duplicates_skipped=len(result.duplicates),
            blank_skipped=len(result.blank),
        )
        for parsed in new:
            response = Response.objects.create(
                cycle=cycle,
                respondent=people.get(parsed.respondent.lower()),
                imported=True,
                import_batch=batch,
                fingerprint=parsed.fingerprint,
                **parsed.segments,
            )
            answers = [
                Answer(response=response, tension=tensions[k], **values)
                for k, values in parsed.items.items()
                if any(value not in (None, "") for value in values.values())
            ]
            Answer.objects.bulk_create(answers)
            result.answers += len(answers)
        result.responses = len(new)
        result.batch = batch
        figures_release(cycle=cycle)
    return result


def import_undo(*, batch: ImportBatch, user: User | None) -> int:
    """Remove every response an import brought in (those their respondent has since
    answered through the form stay); the import stays listed as undone. Returns how many
    responses were removed."""
    with transaction.atomic():
        Cycle.objects.select_for_update().get(pk=batch.cycle_id)
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.undone_at is not None:
            raise ImportAlreadyUndone(f"{batch.filename} was already undone.")
        _total, deleted = Response.objects.filter(import_batch=batch).delete()
        removed = deleted.get(Response._meta.label, 0)
        batch.undone_at = timezone.now()
        batch.undone_by = user
        batch.responses_removed = removed
        batch.save(update_fields=["undone_at", "undone_by", "responses_removed"])
        figures_release(cycle=batch.cycle)
    return removed


# --------------------------------------------------------------------------- releasing


def frozen_rows(*, cycle: Cycle) -> list[Row]:
    """The cycle's answers as they are now, one row per response (two queries)."""
    rows: dict[int, Row] = {
        pk: {"id": pk, **dict(zip(SEGMENTS, segments, strict=True)), "items": {}}
        for pk, *segments in Response.objects.filter(cycle=cycle).order_by("pk").values_list("pk", *SEGMENTS)
    }
    for response_id, number, *values in (
        Answer.objects.filter(response__cycle=cycle)
        .order_by("response_id", "tension__number")
        .values_list("response_id", "tension__number", *ANSWER_FIELDS)
    ):
        if response_id in rows:
            rows[response_id]["items"][str(number)] = list(values)
    return list(rows.values())


def _previous_export(cycle: Cycle) -> tuple[list[frozenset[tuple[str, str]]], set[int] | None, Release | None]:
    """Every earlier export's generalisation, the ids in the latest one, and that release."""
    with_export = list(
        cycle.releases.filter(export_generalised__isnull=False)
        .order_by("number")
        .only("number", "export_generalised", "exported_ids")
    )
    earlier = [frozenset(tuple(pair) for pair in release.export_generalised or []) for release in with_export]
    last = with_export[-1] if with_export else None
    return earlier, (set(last.exported_ids) if last else None), last


def figures_release(*, cycle: Cycle) -> Release | None:
    """Make the cycle's next release when one is due, under a lock on the cycle.

    Due when at least MIN_GROUP responses were added or removed since the latest release
    (edits do not count, so a few edits next to one new response never make a release
    that shows it; they ride along with the next), and when the cycle has closed: the
    first time after it closed, a closing release shows the latest figures again with
    the anonymised answers (from the last batch, when fewer than MIN_GROUP responses came
    after it, as those few could be worked out by comparing). Returns the new release."""
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        latest = (
            cycle.releases.order_by("-number").only("number", "closing", "response_ids", "shown", "responses").first()
        )
        live_ids = set(Response.objects.filter(cycle=cycle).values_list("pk", flat=True))
        released_ids = set(latest.response_ids) if latest else set()
        moved = len(live_ids - released_ids) + len(released_ids - live_ids)
        closed = cycle.is_closed()
        if moved >= MIN_GROUP or (latest is None and closed and live_ids):
            rows = frozen_rows(cycle=cycle)
        elif closed and latest is not None and not latest.closing:
            rows = Release.objects.values_list("rows", flat=True).get(pk=latest.pk) or []
        else:
            return None
        return _release(cycle, rows, latest, closing=closed)


def _release(cycle: Cycle, rows: list[Row], latest: Release | None, *, closing: bool) -> Release:
    tensions = list(Tension.objects.values_list("number", flat=True).order_by("number"))
    shown_before: dict[str, int] = dict(latest.shown) if latest else {}
    references = set(shown_before.values())
    earlier_rows = {
        number: {int(row["id"]): row for row in kept or []}
        for number, kept in cycle.releases.filter(number__in=references, rows__isnull=False).values_list(
            "number", "rows"
        )
    }
    number = (latest.number if latest else 0) + 1
    released = release_figures(rows, tensions, number=number, shown_before=shown_before, earlier_rows=earlier_rows)
    release = Release(
        cycle=cycle,
        number=number,
        responses=len(rows),
        closing=closing,
        figures=released.figures,
        response_ids=sorted(int(row["id"]) for row in rows),
        rows=rows,
        shown=released.shown,
    )
    if closing and len(rows) >= MIN_GROUP:
        earlier, exported_ids, last_export = _previous_export(cycle)
        new_rows = [row for row in rows if exported_ids is None or int(row["id"]) not in exported_ids]
        generalised = generalise(rows, new_rows if exported_ids is not None else None)
        if generalised is not None:
            generalised = chained(generalised, earlier)
            release.export = export_rows(rows, tensions, generalised)
            release.export_generalised = sorted(list(pair) for pair in generalised)
            release.exported_ids = release.response_ids
        elif last_export is not None:
            # Too few new rows to export safely: the previous file stands.
            release.export = Release.objects.values_list("export", flat=True).get(pk=last_export.pk)
            release.export_generalised = last_export.export_generalised
            release.exported_ids = last_export.exported_ids
    release.save()
    # Earlier releases are history: pages read the latest. Their frozen answers are kept
    # only while a later release may be compared with them.
    cycle.releases.filter(number__lt=number).exclude(figures={}).update(figures={}, response_ids=[])
    keep = {number, *released.shown.values()}
    cycle.releases.exclude(number__in=keep).filter(rows__isnull=False).update(rows=None)
    return release


# --------------------------------------------------------------------------- notices

# How many days before a cycle closes those who have not answered are reminded (once).
CLOSING_NOTICE_DAYS = 3


def survey_notices_send(*, today: date | None = None) -> tuple[int, int]:
    """Tell each person asked to answer that the open cycle is open, once, and remind those
    who have not answered once it closes within CLOSING_NOTICE_DAYS, once. A notice already
    sent is never sent again (safe to run twice, and by a daily job). Returns (opened, closing)."""
    today = today or timezone.localdate()
    cycle = Cycle.objects.open_on(today).first()
    if cycle is None:
        return 0, 0
    asked = User.objects.filter(is_active=True, role__in=SURVEY_ROLES).order_by("pk")
    url = reverse("surveys:respond", args=[cycle.slug])
    closes = date_format(cycle.closes_on, "F j")
    opened = _notify_once(
        asked,
        cycle,
        NotificationKind.SURVEY_OPEN,
        f"The leadership survey “{cycle.name}” is open until {closes}: seven questions on where you stand.",
        url,
    )
    closing = 0
    if (cycle.closes_on - today).days < CLOSING_NOTICE_DAYS:
        closing = _notify_once(
            asked.exclude(survey_responses__cycle=cycle),
            cycle,
            NotificationKind.SURVEY_CLOSING,
            f"The leadership survey “{cycle.name}” closes on {closes}, and your answers are not in yet.",
            url,
        )
    return opened, closing


def _notify_once(people: QuerySet[User], cycle: Cycle, kind: NotificationKind, text: str, url: str) -> int:
    told = Notification.objects.filter(kind=kind, about_type=about_key(cycle)[0], about_id=cycle.pk)
    sent = 0
    for person in people.exclude(pk__in=told.values("recipient_id")).iterator():
        with transaction.atomic():
            if notify(recipient=person, kind=kind, text=text, url=url, about=cycle) is not None:
                sent += 1
    return sent
