"""Workflows on practices: save with iterations and failures, adopt, adapt, archive, feature, restore."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import reversion
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version
from taggit.models import Tag

from portal.lib.uploads import carries_metadata, strip_metadata
from portal.models import School, User
from portal.naming import ANONYMOUS_LABEL, display_name, may_name, person_label
from portal.notifications.models import Notification, NotificationKind, about_key
from portal.notifications.services import notify
from practices.forms import CleanedUpload, CollectionForm, OrderedInlineFormSet, PracticeForm
from practices.models import (
    Adoption,
    AdoptionReport,
    AdoptionStatus,
    Attachment,
    Collection,
    CollectionItem,
    CollectionSharing,
    Failure,
    Follow,
    Practice,
    Question,
    Status,
    tag_names_text,
)
from practices.search import remember_words

# Set by district staff beside the author's edits (archive, feature), never from the author's form.
MODERATION_FIELDS = [
    "status",
    "published_at",
    "featured_at",
    "featured_by",
    "featured_note",
    "archived_at",
    "archived_by",
    "archived_reason",
]

# Fields a restore leaves as they are now: who may see the entry and under what name
# are the author's current choices, not a property of old text.
KEPT_ON_RESTORE = [
    *MODERATION_FIELDS,
    "visibility",
    "anonymous",
    "adapted_from",
    "lineage_root",
    "school",
    "author",
    "created_at",
]


def _save_ordered(formset: OrderedInlineFormSet, practice: Practice) -> None:
    formset.instance = practice
    formset.save(commit=False)
    for removed in formset.deleted_objects:
        removed.delete()
    for position, form in enumerate(formset.ordered_forms, start=1):
        row = form.instance
        row.practice = practice
        row.position = position
        row.save()


def practice_refresh_derived(practice: Practice) -> None:
    """Recompute what is stored for speed: tags as text, the search document, the counts."""
    practice.tag_names = tag_names_text(tag.name for tag in practice.tags.all())
    practice.search_document = practice.build_search_document()
    practice.refresh_counts()
    practice.save(update_fields=["tag_names", "search_document", "iteration_count", "failure_count"])
    remember_words(practice.search_document)


def practice_save(
    *,
    form: PracticeForm,
    iterations: OrderedInlineFormSet,
    failures: OrderedInlineFormSet,
    user: User,
    publish: bool,
    adapted_from: Practice | None = None,
) -> Practice:
    """Save an entry with its iterations, failures and attachments as one revision."""
    with transaction.atomic(), reversion.create_revision():
        practice: Practice = form.save(commit=False)
        creating = practice.pk is None
        became_anonymous = False
        if not creating:
            # Staff may archive or feature the entry while its author edits it: lock the row
            # and take what they set from it, so the author's save does not undo it.
            current = Practice.objects.select_for_update(no_key=True, of=("self",)).get(pk=practice.pk)
            for name in MODERATION_FIELDS:
                setattr(practice, name, getattr(current, name))
            became_anonymous = practice.anonymous and not current.anonymous
        now = timezone.now()
        previously_published = not creating and practice.status == Status.PUBLISHED
        original = adapted_from if creating else practice.adapted_from
        # The original's author hears of an adaptation once it is published where they may open it.
        shown_before = (
            original is not None
            and not creating
            and Practice.objects.visible_to(original.author).published().filter(pk=practice.pk).exists()
        )
        if creating:
            if user.school is None:
                raise ValueError(f"{user} writes no practices: they have no school.")
            practice.author = user
            practice.school = user.school
            if adapted_from is not None:
                practice.adapted_from = adapted_from
                practice.lineage_root_id = adapted_from.lineage_root_id or adapted_from.pk
        # Archived meanwhile: the text is kept, the entry stays archived.
        publish = publish and practice.status != Status.ARCHIVED
        first_publication = publish and practice.published_at is None
        if publish:
            practice.status = Status.PUBLISHED
            practice.published_at = practice.published_at or now
        elif practice.status == Status.PUBLISHED:
            practice.status = Status.DRAFT
        practice.updated_at = now
        practice.save()
        form.save_m2m()
        practice.facets.set(form.selected_facets())
        _save_ordered(iterations, practice)
        _save_ordered(failures, practice)
        _attach(practice, form.cleaned_data.get("attachments") or [], user)
        removed = form.cleaned_data.get("remove_attachments")
        if removed:
            practice.attachments.filter(pk__in=[a.pk for a in removed]).update(removed_at=now)
        practice_refresh_derived(practice)
        reversion.set_user(user)
        reversion.set_comment("Created" if creating else ("Published" if first_publication else "Edited"))
        if became_anonymous:
            _unname_author_in_notices(practice)
        if previously_published and practice.status == Status.PUBLISHED:
            _notify_original_changed(practice, user)
        if original is not None and not shown_before:
            reaches = Practice.objects.visible_to(original.author).published().filter(pk=practice.pk).exists()
            # Published before but kept where the original's author could not open it, and now shared with them.
            widened = not first_publication and previously_published
            if reaches and (first_publication or widened):
                _notify_adaptation(original, practice, user)
    return practice


def _unname_author_in_notices(practice: Practice) -> None:
    """An entry shared under its author's name has become anonymous: the notices about it that
    named them (an adaptation announced, an answer to a question) no longer do, for every reader
    who may not know who wrote it. (E-mails already sent cannot be called back.)"""
    author = practice.author
    about_type, about_id = about_key(practice)
    name = display_name(author)
    # How each kind of notice starts with the author's name, and how it starts without it.
    named = {
        NotificationKind.ADAPTATION: (f"{name} at ", f"{ANONYMOUS_LABEL} at "),
        NotificationKind.ANSWER: (f"{name[:1].upper()}{name[1:]}, the author ", "The author "),
    }
    notices = Notification.objects.filter(about_type=about_type, about_id=about_id, kind__in=list(named))
    for notice in notices.exclude(recipient=author).select_related("recipient"):
        before, after = named[NotificationKind(notice.kind)]
        if notice.text.startswith(before) and not may_name(author, reader=notice.recipient, anonymous=True):
            notice.text = after + notice.text[len(before) :]
            notice.save(update_fields=["text"])


def _attach(practice: Practice, uploads: Iterable[CleanedUpload], user: User) -> None:
    for upload in uploads:
        Attachment.objects.create(
            practice=practice,
            file=upload,
            original_name=(upload.name or "file")[:255],
            content_type=upload.detected_type,
            size=upload.size or 0,
            uploaded_by=user,
        )


def attachment_strip_metadata(*, attachment: Attachment) -> bool:
    """Store an attachment kept from before uploads were cleaned again, without the details
    that could name its author, under a new name; the old file is deleted once saved.
    Returns whether it changed. Raises UnreadableUpload, or OSError if the file is missing."""
    with attachment.file.open("rb") as stored:
        data = stored.read()
    if not carries_metadata(data, attachment.content_type):
        return False
    cleaned = strip_metadata(data, attachment.content_type)
    old_name = attachment.file.name
    storage = attachment.file.storage
    with transaction.atomic():
        attachment.file.save(attachment.original_name, ContentFile(cleaned), save=False)
        attachment.size = len(cleaned)
        attachment.save(update_fields=["file", "size"])
        if old_name:
            transaction.on_commit(partial(storage.delete, old_name))
    return True


def _at_school(person: User) -> str:
    return f" at {person.school}" if person.school is not None else ""


def _notify_adaptation(original: Practice, adaptation: Practice, actor: User) -> None:
    """Tell the original's author an adaptation is shared with them, naming the adapter as they
    may see them (an anonymous adaptation stays anonymous; its school is shown)."""
    author = original.author
    if author.pk == actor.pk:
        return
    label = person_label(actor, reader=author, anonymous=adaptation.anonymous)
    school = actor.school or "another school"
    notify(
        recipient=author,
        kind=NotificationKind.ADAPTATION,
        text=f"{label} at {school} has shared an adaptation of your practice “{original.title}”: “{adaptation.title}”",
        url=adaptation.get_absolute_url(),
        about=adaptation,
    )


REPORT_WORDS = {
    AdoptionStatus.TRYING: "is trying your practice",
    AdoptionStatus.ADOPTED: "has adopted your practice",
    AdoptionStatus.STOPPED: "stopped trying your practice",
}
# How much of a report's notes a notice quotes (the practice's page has them all).
NOTICE_NOTES_CHARS = 200


def adoption_notice_text(*, practice: Practice, status: str, notes: str, actor: User, reader: User) -> str:
    """One step of someone's story with a practice, as its author reads it in a notice."""
    text = f"{person_label(actor, reader=reader)}{_at_school(actor)} {REPORT_WORDS[AdoptionStatus(status)]} “{practice.title}”"
    notes = " ".join(notes.split())
    if notes:
        if len(notes) > NOTICE_NOTES_CHARS:
            notes = notes[: NOTICE_NOTES_CHARS - 1].rstrip() + "…"
        text += f": “{notes}”"
    return text


def adoption_record(*, practice: Practice, user: User, status: str, notes: str) -> Adoption:
    """Add a step to `user`'s story with a practice (trying, adopted or stopped, with notes):
    the adoption shows the latest step, its timeline keeps every one, and the author hears of
    each. The same step sent again (a form posted twice) adds nothing."""
    with transaction.atomic():
        adoption, created = Adoption.objects.select_for_update().get_or_create(
            practice=practice, user=user, defaults={"status": status, "notes": notes, "school": user.school}
        )
        if not created and (adoption.status, adoption.notes) == (status, notes):
            return adoption
        adoption.status, adoption.notes, adoption.school = status, notes, user.school
        adoption.save(update_fields=["status", "notes", "school", "updated_at"])
        AdoptionReport.objects.create(adoption=adoption, status=status, notes=notes)
        if practice.author_id != user.pk:
            notify(
                recipient=practice.author,
                kind=NotificationKind.ADOPTION,
                text=adoption_notice_text(
                    practice=practice, status=status, notes=notes, actor=user, reader=practice.author
                ),
                url=practice.get_absolute_url(),
                about=practice,
            )
    return adoption


def adoption_report_to_failure(*, report: AdoptionReport, adaptation: Practice, user: User) -> Failure:
    """Add a report of stopping to the reporter's own adaptation as what did not work, as a new
    version of the adaptation (its history shows it; restoring an earlier version takes it out).
    Sent twice, it is added once (the failure it already became is returned)."""
    original = report.adoption.practice
    if not report.can_become_failure(user) or not Practice.objects.open_to_reports_by(user).contains(adaptation):
        raise ValueError(
            "Only the reporter turns their report of stopping into a failure, once, on an entry under their name."
        )
    with transaction.atomic(), reversion.create_revision():
        # The report first: of the same form sent twice at once, the second finds it done.
        done = AdoptionReport.objects.select_for_update().values_list("failure", flat=True).get(pk=report.pk)
        if done is not None:
            return Failure.objects.get(pk=done)
        locked = Practice.objects.select_for_update(no_key=True, of=("self",)).get(pk=adaptation.pk)
        failure = Failure.objects.create(
            practice=locked,
            position=locked.failures.count() + 1,
            tried=f"“{original.title}” as it was first shared",
            what_happened=f"We stopped on {timezone.localtime(report.created_at):%b %-d, %Y}.",
            why=report.notes,
        )
        report.failure = failure
        report.save(update_fields=["failure"])
        locked.updated_at = timezone.now()
        locked.save(update_fields=["updated_at"])
        practice_refresh_derived(locked)
        reversion.add_to_revision(locked)
        reversion.set_user(user)
        reversion.set_comment("Added what did not work, from a report on the original")
    return failure


def _excerpt(text: str, limit: int = NOTICE_NOTES_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def author_as_answerer(practice: Practice, reader: User) -> str:
    """How the author of `practice` is named to `reader` where they answer a question: "the
    author" when the entry is anonymous to that reader, their name otherwise."""
    author = practice.author
    if practice.anonymous and not may_name(author, reader=reader, anonymous=True):
        return "the author"
    return f"{person_label(author, reader=reader, anonymous=practice.anonymous)}, the author"


def question_ask(*, practice: Practice, asker: User, text: str) -> Question:
    """Ask the author; they are told, by name of the asker (who is never anonymous). The same
    question sent again (a form posted twice) is the one already asked: nobody is told twice."""
    with transaction.atomic():
        # One person's questions are asked one at a time, so a second copy finds the first.
        list(User.objects.select_for_update().filter(pk=asker.pk).values_list("pk", flat=True))
        asked = Question.objects.filter(practice=practice, asker=asker, text=text).first()
        if asked is not None:
            return asked
        question = Question.objects.create(practice=practice, asker=asker, text=text)
        notify(
            recipient=practice.author,
            kind=NotificationKind.QUESTION,
            text=f"{person_label(asker, reader=practice.author)}{_at_school(asker)} asked about your practice "
            f"“{practice.title}”: “{_excerpt(text)}”",
            url=question.get_absolute_url(),
            about=practice,
        )
    return question


def question_answer(*, question: Question, answer: str) -> Question:
    """The author answers (or improves their answer); the asker is told of the first answer,
    with the author named as the asker may see them."""
    practice = question.practice
    with transaction.atomic():
        # Read under a lock: of two first answers sent at once, one is first.
        question.answered_at = (
            Question.objects.select_for_update().values_list("answered_at", flat=True).get(pk=question.pk)
        )
        first = not question.is_answered
        question.answer = answer
        question.answered_at = question.answered_at or timezone.now()
        question.save(update_fields=["answer", "answered_at"])
        if first and question.asker_id != practice.author_id:
            answerer = author_as_answerer(practice, question.asker)
            notify(
                recipient=question.asker,
                kind=NotificationKind.ANSWER,
                text=f"{answerer[:1].upper()}{answerer[1:]} answered your question about “{practice.title}”",
                url=question.get_absolute_url(),
                about=practice,
            )
    return question


def question_hide(*, question: Question, by: User, hidden: bool) -> Question:
    """Hide a question from everyone but its asker, the author and district staff, or show it again."""
    question.hidden_at = timezone.now() if hidden else None
    question.hidden_by = by if hidden else None
    question.save(update_fields=["hidden_at", "hidden_by"])
    return question


def collection_save(*, form: CollectionForm, owner: User) -> Collection:
    """Create or change a collection: who sees it and, for a team, who is in it."""
    with transaction.atomic():
        collection: Collection = form.save(commit=False)
        creating = collection.pk is None
        if creating:
            collection.owner = owner
        # Shared with a school: the owner's school when they save it (a move does not take it along).
        collection.school = owner.school if collection.sharing == CollectionSharing.SCHOOL else None
        collection.updated_at = timezone.now()
        try:
            with transaction.atomic():
                collection.save()
        except IntegrityError:
            if not creating:
                raise
            # The same new collection sent twice at once: the first one made is the one.
            return Collection.objects.get(owner=owner, name__iexact=collection.name)
        collection.members.set(form.cleaned_data["team"] if collection.is_team else [])
    return collection


def collection_add(
    *, practice: Practice, user: User, note: str, collection: Collection | None = None, new_name: str = ""
) -> CollectionItem:
    """Save a practice into a collection (a new private one when `new_name` is given), with a
    note; saving it again into the same collection keeps one entry and its newest note."""
    with transaction.atomic():
        if collection is None:
            try:
                with transaction.atomic():
                    collection = Collection.objects.create(owner=user, name=new_name)
            except IntegrityError:
                # Made a moment ago by the same form sent twice: save into that one.
                collection = Collection.objects.get(owner=user, name__iexact=new_name)
        item, created = CollectionItem.objects.get_or_create(
            collection=collection, practice=practice, defaults={"note": note, "added_by": user}
        )
        if not created and note:
            item.note = note
            item.save(update_fields=["note"])
        Collection.objects.filter(pk=collection.pk).update(updated_at=timezone.now())
    return item


def collection_item_change(*, item: CollectionItem, note: str | None) -> CollectionItem | None:
    """Change an item's note, or take it out of its collection (`note` None)."""
    with transaction.atomic():
        if note is None:
            item.delete()
            return None
        item.note = note
        item.save(update_fields=["note"])
    return item


def follow_set(
    *,
    user: User,
    on: bool,
    tag: Tag | None = None,
    school: School | None = None,
    practice: Practice | None = None,
    person: User | None = None,
) -> Follow | None:
    """Follow one thing (`on`), or stop following it; following twice keeps one follow."""
    target: dict[str, Any] = {"tag": tag, "school": school, "practice": practice, "person": person}
    chosen = {name: value for name, value in target.items() if value is not None}
    if len(chosen) != 1 or person == user:
        raise ValueError("Follow exactly one thing, never oneself.")
    if not on:
        Follow.objects.filter(user=user, **chosen).delete()
        return None
    follow, _created = Follow.objects.get_or_create(user=user, **chosen)
    return follow


def _notify_original_changed(original: Practice, editor: User) -> None:
    """Tell the authors of adaptations of `original` that it changed (once until they read it)."""
    adapters = (
        User.objects.active()
        .filter(practices__adapted_from=original, practices__status=Status.PUBLISHED)
        .exclude(pk=editor.pk)
        .distinct()
    )
    already_told = set(
        Notification.objects.filter(
            kind=NotificationKind.ORIGINAL_CHANGED,
            about_type=Practice._meta.label_lower,
            about_id=original.pk,
            read_at__isnull=True,
        ).values_list("recipient_id", flat=True)
    )
    for adapter in adapters:
        if adapter.pk in already_told:
            continue
        notify(
            recipient=adapter,
            kind=NotificationKind.ORIGINAL_CHANGED,
            text=f"“{original.title}”, which you adapted, has changed: see what is new",
            url=reverse("practices:history", args=[original.pk]),
            about=original,
        )


def practice_archive(*, practice: Practice, by: User, reason: str) -> Practice:
    with transaction.atomic(), reversion.create_revision():
        practice.status = Status.ARCHIVED
        practice.archived_at = timezone.now()
        practice.archived_by = by
        practice.archived_reason = reason
        practice.save(update_fields=["status", "archived_at", "archived_by", "archived_reason"])
        reversion.set_user(by)
        reversion.set_comment(f"Archived: {reason}")
    return practice


def practice_unarchive(*, practice: Practice, by: User) -> Practice:
    with transaction.atomic(), reversion.create_revision():
        practice.status = Status.PUBLISHED if practice.published_at else Status.DRAFT
        practice.archived_at = None
        practice.archived_by = None
        practice.archived_reason = ""
        practice.save(update_fields=["status", "archived_at", "archived_by", "archived_reason"])
        reversion.set_user(by)
        reversion.set_comment("Brought back from the archive")
    return practice


def practice_feature(*, practice: Practice, by: User, note: str) -> Practice:
    practice.featured_at = timezone.now()
    practice.featured_by = by
    practice.featured_note = note
    practice.save(update_fields=["featured_at", "featured_by", "featured_note"])
    return practice


def practice_unfeature(*, practice: Practice) -> Practice:
    practice.featured_at = None
    practice.featured_by = None
    practice.featured_note = ""
    practice.save(update_fields=["featured_at", "featured_by", "featured_note"])
    return practice


def practice_restore(*, practice: Practice, version: Version, by: User) -> Practice:
    """Bring back the text, iterations and failures of an earlier version, as a new version."""
    restored_at = version.revision.date_created
    with transaction.atomic(), reversion.create_revision():
        # Read under the row's lock: an archive or feature made meanwhile is kept too.
        current = Practice.objects.select_for_update(no_key=True, of=("self",)).get(pk=practice.pk)
        kept = {name: getattr(current, name) for name in KEPT_ON_RESTORE}
        version.revision.revert(delete=True)
        practice = Practice.objects.get(pk=practice.pk)
        for name, value in kept.items():
            setattr(practice, name, value)
        practice.updated_at = timezone.now()
        practice.save()
        practice.tags.set([name.strip() for name in practice.tag_names.split(",") if name.strip()])
        practice_refresh_derived(practice)
        reversion.set_user(by)
        reversion.set_comment(f"Restored the version of {timezone.localtime(restored_at):%b %-d, %Y %H:%M}")
    return practice
