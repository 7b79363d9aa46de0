"""A readable "what changed" view of a practice's versions."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import Field, Model
from reversion.models import Version

from portal.models import User
from portal.naming import may_name, person_label
from practices.forms import FailureForm, IterationForm, PracticeForm
from practices.models import Failure, Iteration, Practice

HISTORY_LIMIT = 50
# Fields shown in the history, with their labels; the rest are bookkeeping.
PRACTICE_FIELDS = [
    *(name for name in PracticeForm.Meta.fields if name != "tags"),
    "tag_names",
    "status",
    "archived_reason",
]
ITERATION_FIELDS = IterationForm.Meta.fields
FAILURE_FIELDS = FailureForm.Meta.fields


@dataclass
class Piece:
    kind: str  # "same", "removed" or "added"
    text: str


@dataclass
class FieldChange:
    label: str
    pieces: list[Piece]


@dataclass
class RowChange:
    kind: str  # "Iteration" or "Failure"
    change: str  # "added", "removed" or "changed"
    title: str
    fields: list[FieldChange] = field(default_factory=list)


@dataclass
class HistoryEntry:
    version_id: int
    date: datetime
    who: str
    comment: str
    fields: list[FieldChange]
    rows: list[RowChange]
    is_current: bool


def word_diff(old: str, new: str) -> list[Piece]:
    """Word-by-word difference, for showing removed and added text inline."""
    old_words = re.split(r"(\s+)", old or "")
    new_words = re.split(r"(\s+)", new or "")
    pieces: list[Piece] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(Piece("same", "".join(old_words[a1:a2])))
            continue
        if a2 > a1:
            pieces.append(Piece("removed", "".join(old_words[a1:a2])))
        if b2 > b1:
            pieces.append(Piece("added", "".join(new_words[b1:b2])))
    return pieces


def _label(model: type[Model], name: str) -> str:
    if name == "tag_names":
        return "Tags"
    field = model._meta.get_field(name)
    return str(field.verbose_name if isinstance(field, Field) else name).capitalize()


def _display(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def _field_changes(model: type[Model], names: list[str], old: dict, new: dict) -> list[FieldChange]:
    return [
        FieldChange(_label(model, name), word_diff(_display(old.get(name)), _display(new.get(name))))
        for name in names
        if _display(old.get(name)) != _display(new.get(name))
    ]


def practice_history(practice: Practice, viewer: User) -> list[HistoryEntry]:
    """The newest versions first, each compared with the one before it, in two queries."""
    versions = list(
        Version.objects.get_for_object(practice).select_related("revision", "revision__user", "content_type")[
            : HISTORY_LIMIT + 1
        ]
    )
    revision_ids = [version.revision_id for version in versions]
    row_types = ContentType.objects.get_for_models(Iteration, Failure)
    rows_by_revision: dict[int, dict[tuple[str, str], dict]] = {rid: {} for rid in revision_ids}
    for row in Version.objects.filter(revision_id__in=revision_ids, content_type__in=row_types.values()).select_related(
        "content_type"
    ):
        kind = "Iteration" if row.content_type_id == row_types[Iteration].pk else "Failure"
        rows_by_revision[row.revision_id][(kind, row.object_id)] = row.field_dict

    entries = []
    for index, version in enumerate(versions[:HISTORY_LIMIT]):
        previous = versions[index + 1] if index + 1 < len(versions) else None
        old = previous.field_dict if previous else {}
        new = version.field_dict
        old_rows = rows_by_revision[previous.revision_id] if previous else {}
        new_rows = rows_by_revision[version.revision_id]
        entries.append(
            HistoryEntry(
                version_id=version.pk,
                date=version.revision.date_created,
                who=_who(practice, version, viewer),
                comment=version.revision.comment,
                fields=_field_changes(Practice, PRACTICE_FIELDS, old, new),
                rows=_row_changes(old_rows, new_rows),
                is_current=index == 0,
            )
        )
    return entries


def _who(practice: Practice, version: Version, viewer: User) -> str:
    """Who saved a version, as `viewer` may see them: the author of an anonymous entry
    stays anonymous in every version, whoever the entry names today."""
    editor = version.revision.user
    if editor is None:
        return "the portal"
    by_author = editor.pk == practice.author_id
    if by_author and not may_name(editor, reader=viewer, anonymous=practice.anonymous):
        return "the author"
    return person_label(editor, reader=viewer, anonymous=by_author and practice.anonymous)


def _row_changes(old_rows: dict[tuple[str, str], dict], new_rows: dict[tuple[str, str], dict]) -> list[RowChange]:
    changes = []
    for key in sorted(
        set(old_rows) | set(new_rows),
        key=lambda k: (k[0], (new_rows.get(k) or old_rows.get(k) or {}).get("position", 0)),
    ):
        kind = key[0]
        names, model = (ITERATION_FIELDS, Iteration) if kind == "Iteration" else (FAILURE_FIELDS, Failure)
        old, new = old_rows.get(key), new_rows.get(key)
        title = ((new or old or {}).get("tried") or "")[:80]
        if old is None:
            changes.append(RowChange(kind, "added", title, _field_changes(model, names, {}, new or {})))
        elif new is None:
            changes.append(RowChange(kind, "removed", title, _field_changes(model, names, old, {})))
        else:
            fields = _field_changes(model, names, old, new)
            if fields or old.get("position") != new.get("position"):
                changes.append(RowChange(kind, "changed" if fields else "moved", title, fields))
    return changes
