from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from typing import Any, Concatenate, ParamSpec, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from reversion.models import Version

from portal.http import AuthenticatedHttpRequest
from portal.lib.kept_pages import not_kept
from portal.lib.pagination import CappedPaginator
from portal.lib.stash import pop_stashed_post, stash_post_and_sign_in
from portal.models import User
from portal.naming import display_name
from practices import services
from practices.cards import CARD_TAGS
from practices.filters import PracticeFilter, tag_suggestions
from practices.forms import (
    AdoptionForm,
    AnswerForm,
    CollectionForm,
    CollectionItemForm,
    FailureFormSet,
    FeatureForm,
    FormAction,
    IterationFormSet,
    PracticeForm,
    QuestionForm,
    ReasonForm,
    ReportToFailureForm,
    SaveToCollectionForm,
)
from practices.history import practice_history
from practices.lineage import lineage_tree
from practices.models import (
    TAGS,
    Adoption,
    AdoptionReport,
    Attachment,
    Collection,
    CollectionItem,
    Follow,
    Practice,
    PracticeQuerySet,
    Question,
    can_write_practices,
)
from practices.search import Passage, SearchTookTooLong, corrected_query, matched_passages

PAGE_SIZE = 20
# The latest answered questions a practice's page shows (its questions page has them all).
QUESTIONS_ON_PRACTICE = 10

P = ParamSpec("P")
# A rule of Practice (`Practice.can_edit`, ...): may this person do that to this entry?
PracticeRule = Callable[[Practice, User], bool]


def _get_practice_for_user(
    request: AuthenticatedHttpRequest,
    pk: int,
    *,
    may: PracticeRule | None = None,
    queryset: PracticeQuerySet | None = None,
) -> Practice:
    """The practice if this person may see it, and do what `may` asks of it.

    An entry they may not see is a 404, whether or not it exists; one they see but may
    not act on is a 403.
    """
    base = queryset if queryset is not None else Practice.objects.select_related("school", "author")
    practice = get_object_or_404(base.visible_to(request.user), pk=pk)
    if may is not None and not may(practice, request.user):
        raise PermissionDenied
    return practice


def _signed_in_or_stashed(
    view: Callable[Concatenate[AuthenticatedHttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """A form page open to a visitor whose session ended only to keep what they typed
    (portal.lib.stash): they sign in again and find it there."""

    @login_not_required
    @wraps(view)
    def form_page(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return stash_post_and_sign_in(request)
        # Signed in: the request's user is a User, which the type checker cannot infer.
        return view(cast(AuthenticatedHttpRequest, request), *args, **kwargs)

    return form_page


@require_http_methods(["GET", "HEAD"])
def practice_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    base = (
        Practice.objects.visible_to(user)
        .published()
        .with_counts(user)
        .select_related("school", "author")
        .prefetch_related(CARD_TAGS)
        # Every word of the entry, for searching in SQL; never shown.
        .defer("search_document")
    )
    practice_filter = PracticeFilter(request.GET or None, queryset=base, user=user, request=request)
    suggestion: str | None = None
    searched_instead = ""
    took_too_long = False
    passages: dict[int, Passage] = {}
    if practice_filter.searching:
        # A search ranks a bounded pool of matches once: their ids in order (which also
        # count them), then the page's entries by id.
        typed = practice_filter.form.cleaned_data["q"]
        try:
            ids = practice_filter.ranked_ids(typed)
            # Near spellings of unknown words: suggested only when they find entries this reader
            # may open, and searched for instead when what was typed finds nothing.
            suggestion = corrected_query(typed, seen=Practice.objects.visible_to(user).published())
            if suggestion is not None and not ids:
                ids = practice_filter.ranked_ids(suggestion)
                if ids:
                    searched_instead = suggestion
                else:
                    suggestion = None
            elif suggestion is not None and not practice_filter.finds(suggestion):
                suggestion = None
        except SearchTookTooLong:
            # Stopped at its time limit: the page says so, and is not kept (the servers were busy).
            ids, suggestion, searched_instead, took_too_long = [], None, "", True
            not_kept(request)
        page = CappedPaginator(ids, PAGE_SIZE).get_page(request.GET.get("page"))
        entries = practice_filter.with_likeness(base.filter(pk__in=page.object_list)).in_bulk()
        # An entry gone or shut to this reader since its id was ranked (a write in between, or
        # one made past the portal while the ranked ids were kept) is left out, not an error.
        page.object_list = [entries[pk] for pk in page.object_list if pk in entries]
        passages = matched_passages(page.object_list, searched_instead or typed)
    else:
        results = base.none() if practice_filter.is_bound and not practice_filter.is_valid() else practice_filter.qs
        page = CappedPaginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "practices/list.html",
        {
            "filter": practice_filter,
            "page": page,
            "practices": page.object_list,
            "show_likeness": practice_filter.sort_key == "like_mine",
            "own_school_left_out": practice_filter.leaves_out_own_school,
            "suggestion": suggestion,
            "searched_instead": searched_instead,
            "took_too_long": took_too_long,
            "passages": passages,
            "can_write": can_write_practices(user),
        },
    )


@require_http_methods(["GET", "HEAD"])
def practice_mine(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    mine = Practice.objects.filter(author=user).with_counts(user).select_related("school").order_by("-updated_at")
    adoptions = (
        Adoption.objects.filter(user=user, practice__in=Practice.objects.visible_to(user))
        .select_related("practice", "practice__school")
        .order_by("-updated_at")
        .with_timelines()
    )
    # A report of stopping can go to one of the reporter's adaptations of that practice.
    adaptations: dict[int, list[Practice]] = {}
    for adaptation in (
        Practice.objects.open_to_reports_by(user)
        .filter(adapted_from__in=[adoption.practice_id for adoption in adoptions])
        .order_by("title", "pk")
    ):
        adaptations.setdefault(cast(int, adaptation.adapted_from_id), []).append(adaptation)
    stories = [
        AdoptionStory(
            adoption=adoption,
            adaptations=adaptations.get(adoption.practice_id, []),
            may_adapt=adoption.practice.can_adapt(user),
        )
        for adoption in adoptions
    ]
    # What I follow; an entry no longer shared with me is left out (its follow stays, unused).
    follows = (
        Follow.objects.of(user)
        .filter(Q(practice__isnull=True) | Q(practice__in=Practice.objects.visible_to(user)))
        .select_related("tag", "school", "practice", "person")
    )
    return render(
        request,
        "practices/mine.html",
        {"mine": mine, "stories": stories, "follows": follows, "can_write": can_write_practices(user)},
    )


@dataclass(frozen=True)
class AdoptionStory:
    """A practice the reader tried, its timeline, and where a report of stopping can go."""

    adoption: Adoption
    adaptations: list[Practice]
    may_adapt: bool


def _detail_queryset() -> PracticeQuerySet:
    return Practice.objects.select_related(
        "school", "author", "adapted_from", "adapted_from__school", "adapted_from__author", "featured_by", "archived_by"
    ).prefetch_related(
        "facets",
        TAGS,
        "iterations",
        "failures",
        Prefetch("attachments", queryset=Attachment.objects.filter(removed_at__isnull=True)),
    )


@require_http_methods(["GET", "HEAD"])
def practice_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    practice = _get_practice_for_user(request, pk, queryset=_detail_queryset())
    adoptions = practice.adoptions.with_timelines()
    my_adoption = next((adoption for adoption in adoptions if adoption.user_id == user.pk), None)
    lineage = lineage_tree(practice, user)
    original = practice.adapted_from
    original_changed = (
        original is not None and original.updated_at > practice.created_at and practice.author_id == user.pk
    )
    return render(
        request,
        "practices/detail.html",
        {
            "practice": practice,
            "adoptions": adoptions,
            "adoption_form": AdoptionForm(instance=my_adoption, prefix="adoption"),
            "my_adoption": my_adoption,
            "lineage": lineage,
            "original_visible": original is not None and original.pk in lineage.visible_ids,
            "original_changed": original_changed,
            "can_edit": practice.can_edit(user),
            "can_archive": practice.can_archive(user),
            "can_unarchive": practice.can_unarchive(user),
            "can_feature": practice.can_feature(user),
            "can_adopt": practice.can_adopt(user),
            "can_adapt": practice.can_adapt(user),
            "can_ask": practice.can_ask(user),
            "answered_questions": practice.questions.answered()
            .filter(hidden_at__isnull=True)
            .select_related("asker")
            .order_by("-answered_at", "-pk")[:QUESTIONS_ON_PRACTICE],
            "answerer": services.author_as_answerer(practice, user),
            "reason_form": ReasonForm(),
            "feature_form": FeatureForm(),
        },
    )


def _practice_form_page(
    request: AuthenticatedHttpRequest,
    *,
    practice: Practice | None,
    adapted_from: Practice | None = None,
    initial: dict[str, Any] | None = None,
    failures_initial: list[dict[str, str]] | None = None,
) -> HttpResponse:
    """The one form for writing, editing and adapting an entry, with its iterations and failures."""
    user = request.user
    instance = practice or Practice(adapted_from=adapted_from)
    data: QueryDict | None = request.POST if request.method == "POST" else pop_stashed_post(request)
    restored = request.method == "GET" and data is not None
    action = data.get("action", "") if data is not None else ""
    publishing = action == FormAction.PUBLISH
    saving = request.method == "POST" and action in (FormAction.PUBLISH, FormAction.DRAFT)
    adapting = adapted_from is not None
    if data is None:
        form = PracticeForm(initial=initial, instance=instance, adapting=adapting)
        iterations = IterationFormSet(instance=instance, prefix="iterations")
        failures = FailureFormSet(instance=instance, prefix="failures", initial=failures_initial)
    else:
        data = data.copy()
        # Without JavaScript, "add another" buttons come back here and add an empty row.
        for prefix in ("iterations", "failures"):
            if action == f"add_{prefix}":
                key = f"{prefix}-TOTAL_FORMS"
                total = data.get(key) or "0"
                # A count that is not a small number is left for the formset to report.
                if total.isascii() and total.isdigit() and len(total) < 5:
                    data[key] = str(int(total) + 1)
        files = request.FILES if request.method == "POST" else None
        form = PracticeForm(data, files, instance=instance, adapting=adapting, publishing=publishing)
        iterations = IterationFormSet(data, instance=instance, prefix="iterations")
        failures = FailureFormSet(data, instance=instance, prefix="failures")
        if saving:
            forms_valid = [form.is_valid(), iterations.is_valid(), failures.is_valid()]
            if all(forms_valid):
                saved = services.practice_save(
                    form=form,
                    iterations=iterations,
                    failures=failures,
                    user=user,
                    publish=publishing,
                    adapted_from=adapted_from,
                )
                messages.success(
                    request,
                    "Published. Colleagues can now find it."
                    if publishing
                    else "Saved as a draft. Only you can see it.",
                )
                return redirect(saved)
            if request.FILES:
                messages.warning(request, "Browsers do not keep chosen files after a failed save: attach them again.")
    if restored:
        messages.info(request, "Here is what you typed before signing in again. Check it, then save.")
    context = {
        "form": form,
        "iterations": iterations,
        "failures": failures,
        "practice": practice,
        "adapted_from": adapted_from,
        "tag_suggestions": tag_suggestions(user),
    }
    return render(request, "practices/form.html", context, status=400 if saving else 200)


@require_http_methods(["GET", "POST"])
@_signed_in_or_stashed
def practice_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not can_write_practices(request.user):
        raise PermissionDenied
    return _practice_form_page(request, practice=None)


@require_http_methods(["GET", "POST"])
@_signed_in_or_stashed
def practice_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk, may=Practice.can_edit)
    if practice.is_archived:
        messages.error(request, "This entry is archived. Bring it back from the archive before editing it.")
        return redirect(practice)
    return _practice_form_page(request, practice=practice)


@require_http_methods(["GET", "POST"])
@_signed_in_or_stashed
def practice_adapt(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    original = _get_practice_for_user(request, pk, may=Practice.can_adapt, queryset=_detail_queryset())
    initial = {
        "title": f"{original.title} (adapted at {request.user.school})",
        "summary": original.summary,
        "description": original.description,
        "intent": original.intent,
        "context": "",
        "depends_on": original.depends_on,
        "core_elements": original.core_elements,
        "adaptable_elements": original.adaptable_elements,
        "impact": "",
        "tags": ", ".join(tag.name for tag in original.tags.all()),
        "visibility": original.visibility,
        "subjects": [f.pk for f in original.subjects],
        "grade_bands": [f.pk for f in original.grade_bands],
    }
    # Adapting after stopping: the report of why it stopped starts "What did not work".
    stopped = _stopped_report(request, original, request.GET.get("from_report"))
    failures_initial = [_failure_from(stopped)] if stopped is not None else None
    if stopped is not None and request.method == "GET":
        messages.info(
            request,
            "Why you stopped shows under your name on the original's page: shared anonymously, "
            "the same words would tell readers this adaptation is yours. Reword it, or share it under your name.",
        )
    return _practice_form_page(
        request, practice=None, adapted_from=original, initial=initial, failures_initial=failures_initial
    )


def _stopped_report(
    request: AuthenticatedHttpRequest, practice: Practice, report_id: str | None
) -> AdoptionReport | None:
    """The signed-in person's own report of stopping `practice`, named by `report_id`, if any."""
    if not report_id or not report_id.isascii() or not report_id.isdigit() or len(report_id) > 18:
        return None
    report = AdoptionReport.objects.filter(
        pk=int(report_id), adoption__practice=practice, adoption__user=request.user
    ).first()
    return report if report is not None and report.is_stopped else None


def _failure_from(report: AdoptionReport) -> dict[str, str]:
    return {"tried": "The practice as it was first shared", "why": report.notes}


@require_http_methods(["GET", "HEAD"])
def practice_history_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    practice = _get_practice_for_user(request, pk)
    return render(
        request,
        "practices/history.html",
        {
            "practice": practice,
            "entries": practice_history(practice, user),
            "can_restore": practice.can_restore(user),
        },
    )


@require_POST
def practice_restore(request: AuthenticatedHttpRequest, pk: int, version_id: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk, may=Practice.can_restore)
    version = get_object_or_404(Version.objects.get_for_object(practice).select_related("revision"), pk=version_id)
    services.practice_restore(practice=practice, version=version, by=request.user)
    messages.success(request, "The earlier version is back. The version it replaced is kept in the history.")
    return redirect("practices:history", pk=practice.pk)


@require_POST
def practice_adopt(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk, may=Practice.can_adopt)
    existing = Adoption.objects.filter(practice=practice, user=request.user).first()
    form = AdoptionForm(request.POST, instance=existing, prefix="adoption")
    if not form.is_valid():
        messages.error(request, "Choose where you are with this practice.")
        return redirect(practice)
    services.adoption_record(
        practice=practice, user=request.user, status=form.cleaned_data["status"], notes=form.cleaned_data["notes"]
    )
    messages.success(request, "Thanks for reporting back. It is added to your timeline, and the author hears of it.")
    return redirect(practice)


@require_POST
def adoption_report_failure(request: AuthenticatedHttpRequest, pk: int, report_id: int) -> HttpResponse:
    """Turn the signed-in person's report of stopping into "what did not work" on their adaptation."""
    practice = _get_practice_for_user(request, pk)
    report = get_object_or_404(
        AdoptionReport.objects.select_related("adoption"),
        pk=report_id,
        adoption__practice=practice,
        adoption__user=request.user,
    )
    if not report.can_become_failure(request.user):
        raise PermissionDenied
    form = ReportToFailureForm(request.POST, adaptations=practice.adaptations_by(request.user))
    if not form.is_valid():
        messages.error(request, "Choose one of your adaptations of this practice.")
        return redirect("practices:mine")
    adaptation = form.cleaned_data["adaptation"]
    services.adoption_report_to_failure(report=report, adaptation=adaptation, user=request.user)
    messages.success(request, "Added to “What did not work” on your adaptation. Edit it to say more.")
    return redirect(adaptation)


@require_POST
def practice_archive(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk, may=Practice.can_archive)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for archiving: the author sees it.")
        return redirect(practice)
    services.practice_archive(practice=practice, by=request.user, reason=form.cleaned_data["reason"])
    messages.success(request, "Archived. It no longer shows in lists and search; nothing was deleted.")
    return redirect(practice)


@require_POST
def practice_unarchive(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk, may=Practice.can_unarchive)
    services.practice_unarchive(practice=practice, by=request.user)
    messages.success(request, "Brought back from the archive.")
    return redirect(practice)


@require_POST
def practice_feature(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk, may=Practice.can_feature)
    if request.POST.get("action") == FormAction.UNFEATURE:
        services.practice_unfeature(practice=practice)
        messages.success(request, "No longer featured.")
        return redirect(practice)
    form = FeatureForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Add a note saying what makes this practice a Model of Excellence.")
        return redirect(practice)
    services.practice_feature(practice=practice, by=request.user, note=form.cleaned_data["note"])
    messages.success(request, "Featured as a Model of Excellence.")
    return redirect(practice)


@require_http_methods(["GET", "HEAD"])
def attachment_download(request: AuthenticatedHttpRequest, pk: int, attachment_id: int) -> FileResponse:
    practice = _get_practice_for_user(request, pk)
    attachment = get_object_or_404(practice.attachments.filter(removed_at__isnull=True), pk=attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name)
    response["Content-Type"] = attachment.content_type
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _get_question_for_user(request: AuthenticatedHttpRequest, practice: Practice, question_id: int) -> Question:
    """A question on `practice` the reader may see (404 otherwise)."""
    queryset = Question.objects.visible_to(request.user).filter(practice=practice).select_related("asker")
    question = get_object_or_404(queryset, pk=question_id)
    question.practice = practice
    return question


@require_http_methods(["GET", "HEAD", "POST"])
def practice_questions(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Questions to the author and their answers; readers ask here, the author answers here."""
    user = request.user
    practice = _get_practice_for_user(request, pk)
    can_ask = practice.can_ask(user)
    form = QuestionForm(request.POST if request.method == "POST" else None, prefix="question")
    if request.method == "POST":
        if not can_ask:
            raise PermissionDenied
        if form.is_valid():
            services.question_ask(practice=practice, asker=user, text=form.cleaned_data["text"])
            messages.success(request, "Sent to the author. You will be told when they answer.")
            return redirect("practices:questions", pk=practice.pk)
    questions = list(
        Question.objects.visible_to(user).filter(practice=practice).select_related("asker", "asker__school")
    )
    for question in questions:
        question.practice = practice
    return render(
        request,
        "practices/questions.html",
        {
            "practice": practice,
            "questions": questions,
            "form": form,
            "can_ask": can_ask,
            "can_answer": practice.can_edit(user),
            "can_hide": practice.can_hide_questions(user),
            "answerer": services.author_as_answerer(practice, user),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def question_answer(request: AuthenticatedHttpRequest, pk: int, question_id: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk)
    question = _get_question_for_user(request, practice, question_id)
    if not question.can_answer(request.user):
        raise PermissionDenied
    form = AnswerForm(request.POST, prefix=f"answer-{question.pk}")
    if not form.is_valid():
        messages.error(request, "Write an answer (at most 4,000 characters) before sending it.")
        return redirect(question)
    services.question_answer(question=question, answer=form.cleaned_data["answer"].strip())
    messages.success(request, "Answered. The colleague who asked is told, and the answer shows on the practice.")
    return redirect(question)


@require_POST
def question_hide(request: AuthenticatedHttpRequest, pk: int, question_id: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk)
    question = _get_question_for_user(request, practice, question_id)
    if not question.can_hide(request.user):
        raise PermissionDenied
    hide = request.POST.get("action") != FormAction.UNHIDE
    services.question_hide(question=question, by=request.user, hidden=hide)
    messages.success(
        request, "Hidden: only its asker, the author and district staff see it." if hide else "Shown again."
    )
    return redirect(question)


# -- Collections --------------------------------------------------------------------------------------

CollectionRule = Callable[[Collection, User], bool]


def _get_collection_for_user(
    request: AuthenticatedHttpRequest, pk: int, *, may: CollectionRule | None = None
) -> Collection:
    """The collection if this person may see it (404 otherwise), and do what `may` asks (403 otherwise)."""
    collection = get_object_or_404(Collection.objects.visible_to(request.user).select_related("owner", "school"), pk=pk)
    if may is not None and not may(collection, request.user):
        raise PermissionDenied
    return collection


@require_http_methods(["GET", "HEAD"])
def collection_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    collections = list(
        Collection.objects.visible_to(user)
        .with_item_counts(user)
        .select_related("owner", "school")
        .order_by("-updated_at", "pk")
    )
    return render(
        request,
        "practices/collections.html",
        {
            "mine": [collection for collection in collections if collection.owner_id == user.pk],
            "shared": [collection for collection in collections if collection.owner_id != user.pk],
        },
    )


def _collection_form_page(request: AuthenticatedHttpRequest, collection: Collection | None) -> HttpResponse:
    form = CollectionForm(request.POST if request.method == "POST" else None, instance=collection, owner=request.user)
    if request.method == "POST" and form.is_valid():
        saved = services.collection_save(form=form, owner=request.user)
        messages.success(request, "Saved.")
        return redirect(saved)
    return render(
        request,
        "practices/collection_form.html",
        {"form": form, "collection": collection},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@_signed_in_or_stashed
def collection_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _collection_form_page(request, None)


@require_http_methods(["GET", "POST"])
@_signed_in_or_stashed
def collection_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _collection_form_page(request, _get_collection_for_user(request, pk, may=Collection.can_edit))


@require_http_methods(["GET", "HEAD"])
def collection_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A collection's own page: each practice the reader may open in it, with its note."""
    user = request.user
    collection = _get_collection_for_user(request, pk)
    members = list(collection.members.order_by("last_name", "first_name", "username"))
    items = (
        collection.items.filter(practice__in=Practice.objects.visible_to(user))
        .select_related("practice", "practice__school", "practice__author", "added_by")
        .order_by("-added_at", "-pk")
    )
    return render(
        request,
        "practices/collection_detail.html",
        {
            "collection": collection,
            "items": items,
            "members": members,
            "can_edit": collection.can_edit(user),
            "can_add": collection.can_add(user, (member.pk for member in members)),
        },
    )


@require_POST
def collection_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    collection = _get_collection_for_user(request, pk, may=Collection.can_edit)
    collection.delete()
    messages.success(request, f"“{collection.name}” is deleted. The practices in it are not affected.")
    return redirect("collections:list")


@require_POST
def collection_item(request: AuthenticatedHttpRequest, pk: int, item_id: int) -> HttpResponse:
    """Change a saved practice's note, or take it out (`action=remove`)."""
    collection = _get_collection_for_user(request, pk)
    if not collection.can_add(request.user, collection.members.values_list("pk", flat=True)):
        raise PermissionDenied
    item = get_object_or_404(
        collection.items.filter(practice__in=Practice.objects.visible_to(request.user)), pk=item_id
    )
    if request.POST.get("action") == FormAction.REMOVE:
        services.collection_item_change(item=item, note=None)
        messages.success(request, "Taken out of the collection.")
        return redirect(collection)
    form = CollectionItemForm(request.POST, prefix=f"item-{item.pk}")
    if not form.is_valid():
        messages.error(request, "Keep a note to 2,000 characters.")
        return redirect(collection)
    services.collection_item_change(item=item, note=form.cleaned_data["note"])
    messages.success(request, "Note saved.")
    return redirect(collection)


@require_http_methods(["GET", "POST"])
def practice_save_to_collection(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Save a practice into one of my collections (or my teams'), or into a new one, with a note."""
    user = request.user
    practice = _get_practice_for_user(request, pk)
    choices = (
        Collection.objects.open_to_additions_by(user)
        .annotate(has_it=Exists(CollectionItem.objects.filter(collection=OuterRef("pk"), practice=practice)))
        .select_related("owner")
        .order_by("name", "pk")
    )
    form = SaveToCollectionForm(request.POST if request.method == "POST" else None, user=user, collections=choices)
    if request.method == "POST" and form.is_valid():
        item = services.collection_add(
            practice=practice,
            user=user,
            note=form.cleaned_data["note"],
            collection=form.cleaned_data["collection"],
            new_name=form.cleaned_data["new_name"],
        )
        messages.success(request, f"Saved to “{item.collection.name}”.")
        return redirect(practice)
    return render(
        request,
        "practices/save.html",
        {
            "practice": practice,
            "form": form,
            "collections": list(choices),
            "own_anonymous": practice.anonymous and practice.can_edit(user),
        },
        status=400 if request.method == "POST" else 200,
    )


# -- Following ----------------------------------------------------------------------------------------


class FollowWhat(StrEnum):
    """What the follow page offers to follow, from one practice."""

    PRACTICE = "practice"
    SCHOOL = "school"
    AUTHOR = "author"
    TAG = "tag"


@dataclass(frozen=True)
class FollowOption:
    what: FollowWhat
    label: str
    following: bool
    tag_slug: str = ""


@require_http_methods(["GET", "HEAD", "POST"])
def practice_follow(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Follow this practice, its school, its author (unless it is anonymous) or one of its tags:
    what is new from them comes in the weekly digest."""
    user = request.user
    practice = _get_practice_for_user(request, pk, queryset=Practice.objects.select_related("school", "author"))
    tags = list(practice.tags.order_by("name"))
    may_follow_author = not practice.anonymous and practice.author_id != user.pk
    if request.method == "POST":
        what = request.POST.get("what", "")
        on = request.POST.get("action") != FormAction.UNFOLLOW
        target: dict[str, Any] = {}
        if what == FollowWhat.PRACTICE:
            target = {"practice": practice}
        elif what == FollowWhat.SCHOOL:
            target = {"school": practice.school}
        elif what == FollowWhat.AUTHOR and may_follow_author:
            target = {"person": practice.author}
        elif what == FollowWhat.TAG:
            chosen = next((tag for tag in tags if tag.slug == request.POST.get("tag")), None)
            target = {"tag": chosen} if chosen is not None else {}
        if not target:
            messages.error(request, "Choose something on this page to follow.")
            return redirect("practices:follow", pk=practice.pk)
        services.follow_set(user=user, on=on, **target)
        messages.success(
            request,
            "Followed: what is new comes in your weekly digest." if on else "You no longer follow it.",
        )
        return redirect("practices:follow", pk=practice.pk)
    mine = Follow.objects.of(user).filter(
        Q(practice=practice)
        | Q(school_id=practice.school_id)
        | Q(person_id=practice.author_id)
        | Q(tag__in=[tag.pk for tag in tags])
    )
    followed = {(f.practice_id, f.school_id, f.person_id, f.tag_id) for f in mine}
    options = [
        FollowOption(
            FollowWhat.PRACTICE,
            "This practice: its adaptations and changes",
            (practice.pk, None, None, None) in followed,
        ),
        FollowOption(
            FollowWhat.SCHOOL,
            f"{practice.school.name}: what it shares",
            (None, practice.school_id, None, None) in followed,
        ),
    ]
    if may_follow_author:
        options.append(
            FollowOption(
                FollowWhat.AUTHOR,
                f"{display_name(practice.author)}: what they share under their name",
                (None, None, practice.author_id, None) in followed,
            )
        )
    options += [
        FollowOption(FollowWhat.TAG, f"The tag “{tag.name}”", (None, None, None, tag.pk) in followed, tag.slug)
        for tag in tags
    ]
    return render(request, "practices/follow.html", {"practice": practice, "options": options})


@require_POST
def follow_delete(request: AuthenticatedHttpRequest, follow_id: int) -> HttpResponse:
    """Stop following something, from the list on My practices."""
    follow = get_object_or_404(Follow.objects.of(request.user), pk=follow_id)
    follow.delete()
    messages.success(request, "You no longer follow it.")
    return redirect("practices:mine")
