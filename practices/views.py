from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from reversion.models import Version

from portal.lib.pagination import CappedPaginator
from portal.lib.stash import pop_stashed_post, stash_post_and_sign_in
from portal.models import Role, User
from practices import services
from practices.filters import PracticeFilter, tag_suggestions
from practices.forms import AdoptionForm, FailureFormSet, FeatureForm, IterationFormSet, PracticeForm, ReasonForm
from practices.history import practice_history
from practices.lineage import lineage_tree
from practices.models import Adoption, Attachment, Practice, Status

PAGE_SIZE = 20


def _get_practice_for_user(request: HttpRequest, pk: int, queryset: QuerySet[Practice] | None = None) -> Practice:
    """The practice if this person may see it; 404 otherwise, whether or not it exists."""
    base = queryset if queryset is not None else Practice.objects.select_related("school", "author")
    return get_object_or_404(base.visible_to(request.user), pk=pk)


def _require_author(request: HttpRequest, practice: Practice) -> None:
    if not practice.can_edit(request.user):
        raise PermissionDenied


@require_http_methods(["GET", "HEAD"])
def practice_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    base = (
        Practice.objects.visible_to(user)
        .published()
        .with_counts(user)
        .select_related("school", "author")
        .prefetch_related("tags", "facets")
    )
    practice_filter = PracticeFilter(request.GET or None, queryset=base, user=user, request=request)
    results = base.none() if practice_filter.is_bound and not practice_filter.is_valid() else practice_filter.qs
    if practice_filter.searching:
        # A search ranks a bounded pool of matches once: their ids in order (which also
        # count them), then the page's entries by id.
        page = CappedPaginator(list(results.values_list("pk", flat=True)), PAGE_SIZE).get_page(request.GET.get("page"))
        entries = practice_filter.with_likeness(base.filter(pk__in=page.object_list)).in_bulk()
        page.object_list = [entries[pk] for pk in page.object_list]
    else:
        page = CappedPaginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "practices/list.html",
        {
            "filter": practice_filter,
            "page": page,
            "practices": page.object_list,
            "show_likeness": practice_filter.sort_key == "like_mine",
        },
    )


@require_http_methods(["GET", "HEAD"])
def practice_mine(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    mine = Practice.objects.filter(author=user).with_counts(user).select_related("school").order_by("-updated_at")
    adoptions = (
        Adoption.objects.filter(user=user, practice__in=Practice.objects.visible_to(user))
        .select_related("practice", "practice__school")
        .order_by("-updated_at")
    )
    return render(request, "practices/mine.html", {"mine": mine, "adoptions": adoptions})


def _detail_queryset() -> QuerySet[Practice]:
    return Practice.objects.select_related(
        "school", "author", "adapted_from", "adapted_from__school", "adapted_from__author", "featured_by", "archived_by"
    ).prefetch_related(
        "facets",
        "tags",
        "iterations",
        "failures",
        Prefetch("attachments", queryset=Attachment.objects.filter(removed_at__isnull=True)),
        Prefetch("adoptions", queryset=Adoption.objects.select_related("user", "school")),
    )


@require_http_methods(["GET", "HEAD"])
def practice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    practice = _get_practice_for_user(request, pk, _detail_queryset())
    adoptions = list(practice.adoptions.all())
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
            "can_moderate": practice.can_moderate(user) and practice.status != Status.ARCHIVED,
            "can_unarchive": practice.can_unarchive(user),
            "can_feature": user.role in (Role.DISTRICT_LEADER, Role.DISTRICT_STAFF)
            and practice.status == Status.PUBLISHED,
            "can_adopt": practice.status == Status.PUBLISHED and practice.author_id != user.pk,
            "can_adapt": practice.status == Status.PUBLISHED and _can_write(user) and practice.author_id != user.pk,
            "reason_form": ReasonForm(),
            "feature_form": FeatureForm(),
        },
    )


def _practice_form_page(
    request: HttpRequest,
    *,
    practice: Practice | None,
    adapted_from: Practice | None = None,
    initial: dict | None = None,
) -> HttpResponse:
    """The one form for writing, editing and adapting an entry, with its iterations and failures."""
    user: User = request.user  # type: ignore[assignment]
    instance = practice or Practice(adapted_from=adapted_from)
    data: QueryDict | None = request.POST if request.method == "POST" else pop_stashed_post(request)
    restored = request.method == "GET" and data is not None
    action = data.get("action", "") if data is not None else ""
    publishing = action == "publish"
    form_kwargs = {"instance": instance, "adapting": adapted_from is not None}
    if data is None:
        form = PracticeForm(initial=initial, **form_kwargs)
        iterations = IterationFormSet(instance=instance, prefix="iterations")
        failures = FailureFormSet(instance=instance, prefix="failures")
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
        form = PracticeForm(
            data, request.FILES if request.method == "POST" else None, publishing=publishing, **form_kwargs
        )
        iterations = IterationFormSet(data, instance=instance, prefix="iterations")
        failures = FailureFormSet(data, instance=instance, prefix="failures")
        if request.method == "POST" and action in ("publish", "draft"):
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
    status = 400 if request.method == "POST" and action in ("publish", "draft") else 200
    context = {
        "form": form,
        "iterations": iterations,
        "failures": failures,
        "practice": practice,
        "adapted_from": adapted_from,
        "tag_suggestions": tag_suggestions(user),
    }
    return render(request, "practices/form.html", context, status=status)


def _can_write(user: User) -> bool:
    return user.school_id is not None and user.role in (Role.TEACHER, Role.PRINCIPAL)


@login_not_required
@require_http_methods(["GET", "POST"])
def practice_create(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return stash_post_and_sign_in(request)
    if not _can_write(request.user):
        raise PermissionDenied
    return _practice_form_page(request, practice=None)


@login_not_required
@require_http_methods(["GET", "POST"])
def practice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return stash_post_and_sign_in(request)
    practice = _get_practice_for_user(request, pk)
    _require_author(request, practice)
    if practice.status == Status.ARCHIVED:
        messages.error(request, "This entry is archived. Bring it back from the archive before editing it.")
        return redirect(practice)
    return _practice_form_page(request, practice=practice, adapted_from=None)


@login_not_required
@require_http_methods(["GET", "POST"])
def practice_adapt(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return stash_post_and_sign_in(request)
    original = _get_practice_for_user(request, pk, _detail_queryset())
    if original.status != Status.PUBLISHED or not _can_write(request.user) or original.author_id == request.user.pk:
        raise PermissionDenied
    initial = {
        "title": f"{original.title} (adapted at {request.user.school.name})",
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
    return _practice_form_page(request, practice=None, adapted_from=original, initial=initial)


@require_http_methods(["GET", "HEAD"])
def practice_history_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    practice = _get_practice_for_user(request, pk)
    return render(
        request,
        "practices/history.html",
        {
            "practice": practice,
            "entries": practice_history(practice, user),
            "can_restore": practice.can_edit(user) and practice.status != Status.ARCHIVED,
        },
    )


@require_POST
def practice_restore(request: HttpRequest, pk: int, version_id: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk)
    _require_author(request, practice)
    if practice.status == Status.ARCHIVED:
        raise PermissionDenied
    version = get_object_or_404(Version.objects.get_for_object(practice).select_related("revision"), pk=version_id)
    services.practice_restore(practice=practice, version=version, by=request.user)
    messages.success(request, "The earlier version is back. The version it replaced is kept in the history.")
    return redirect("practices:history", pk=practice.pk)


@require_POST
def practice_adopt(request: HttpRequest, pk: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk)
    if practice.status != Status.PUBLISHED or practice.author_id == request.user.pk:
        raise PermissionDenied
    existing = Adoption.objects.filter(practice=practice, user=request.user).first()
    form = AdoptionForm(request.POST, instance=existing, prefix="adoption")
    if not form.is_valid():
        messages.error(request, "Choose where you are with this practice.")
        return redirect(practice)
    services.adoption_record(
        practice=practice, user=request.user, status=form.cleaned_data["status"], notes=form.cleaned_data["notes"]
    )
    messages.success(request, "Thanks for reporting back. The author can see who is trying their practice.")
    return redirect(practice)


@require_POST
def practice_archive(request: HttpRequest, pk: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk)
    if not (practice.can_edit(request.user) or practice.can_moderate(request.user)):
        raise PermissionDenied
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for archiving: the author sees it.")
        return redirect(practice)
    services.practice_archive(practice=practice, by=request.user, reason=form.cleaned_data["reason"])
    messages.success(request, "Archived. It no longer shows in lists and search; nothing was deleted.")
    return redirect(practice)


@require_POST
def practice_unarchive(request: HttpRequest, pk: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk)
    if not practice.can_unarchive(request.user):
        raise PermissionDenied
    services.practice_unarchive(practice=practice, by=request.user)
    messages.success(request, "Brought back from the archive.")
    return redirect(practice)


@require_POST
def practice_feature(request: HttpRequest, pk: int) -> HttpResponse:
    practice = _get_practice_for_user(request, pk)
    if request.user.role not in (Role.DISTRICT_LEADER, Role.DISTRICT_STAFF) or practice.status != Status.PUBLISHED:
        raise PermissionDenied
    if request.POST.get("action") == "unfeature":
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
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
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
