from __future__ import annotations

import random

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from portal.decorators import role_required
from portal.http import AuthenticatedHttpRequest
from portal.lib.csvfile import CsvError, csv_response
from portal.lib.figures import FIGURES_SECONDS
from portal.lib.pdf import pdf_response
from surveys.dashboard import (
    COMMENTS_LAST_PAGE,
    NO_STUDY_FIGURE,
    CommentsWanted,
    Dashboard,
    build_dashboard,
    current_release,
    reason_key,
    respondents_label,
)
from surveys.forms import ImportForm, ResponseForm
from surveys.models import (
    DASHBOARD_ROLES,
    DOWNLOAD_ROLES,
    IMPORT_ROLES,
    MIN_GROUP,
    SURVEY_ROLES,
    Answer,
    Cycle,
    ImportBatch,
    Release,
    Response,
    SurveyAccess,
    Tension,
    comment_audience,
)
from surveys.services import ImportAlreadyUndone, import_undo, response_save, responses_import
from surveys.stats import FIGURES, PART_OF, PARTS, export_columns

# Who may open each page is the role set on its `role_required`; the cycle itself is
# fetched through `_get_cycle_for_user`, which refuses a cycle the person may not see.


def _get_cycle_for_user(request: AuthenticatedHttpRequest, slug: str) -> Cycle:
    """The cycle, if the person may see it; 404 otherwise."""
    return get_object_or_404(Cycle.objects.visible_to(request.user), slug=slug)


@role_required(*DASHBOARD_ROLES)
@require_http_methods(["GET", "HEAD"])
def cycle_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    cycles = list(Cycle.objects.visible_to(user))
    answered = set(Response.objects.filter(respondent=user).values_list("cycle_id", flat=True))
    today = timezone.localdate()
    return render(
        request,
        "surveys/list.html",
        {
            "cycles": [(cycle, cycle.is_open(today), cycle.pk in answered) for cycle in cycles],
            "access": SurveyAccess.of(user),
        },
    )


@role_required(*SURVEY_ROLES)
@require_http_methods(["GET", "POST"])
def respond(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    user = request.user
    cycle = _get_cycle_for_user(request, slug)
    if not cycle.is_open():
        messages.error(
            request,
            f"{cycle.name} is not open for answers (open {cycle.opens_on:%b %-d} to {cycle.closes_on:%b %-d, %Y}).",
        )
        return redirect("surveys:list")
    tensions = list(Tension.objects.all())
    existing = {a.tension_id: a for a in Answer.objects.filter(response__cycle=cycle, response__respondent=user)}
    form = ResponseForm(request.POST or None, tensions=tensions, answers=existing)
    if request.method == "POST":
        if form.is_valid():
            saved = response_save(cycle=cycle, user=user, answers=form.answer_values())
            if saved is not None:
                messages.success(request, "Your answers are saved. You can change them until the cycle closes.")
            elif existing:
                messages.info(request, "Every item was skipped, so your earlier answers are withdrawn.")
            else:
                messages.info(request, "Every item was skipped, so nothing was saved: answer at least one item.")
            return redirect("surveys:respond", slug=cycle.slug)
        return render(
            request, "surveys/respond.html", {"cycle": cycle, "form": form, "answered": bool(existing)}, status=400
        )
    return render(request, "surveys/respond.html", {"cycle": cycle, "form": form, "answered": bool(existing)})


def _dashboard_context(cycle: Cycle, data: Dashboard, access: SurveyAccess) -> dict[str, object]:
    """What the dashboard page and its printed report show."""
    return {
        "cycle": cycle,
        "d": data,
        "access": access,
        "min_group": MIN_GROUP,
        "figures_seconds": FIGURES_SECONDS,
        "comment_audience": comment_audience(),
        "respondents_label": respondents_label(),
        "reason_key": reason_key(),
        "no_study_figure": NO_STUDY_FIGURE,
    }


def _comments_wanted(request: AuthenticatedHttpRequest) -> CommentsWanted:
    """The comments the page is asked for: `?comments=<tension number>&page=<n>` for a page of one
    tension's, the first few on each tension otherwise (a number that cannot be read: the same)."""
    try:
        tension = int(request.GET.get("comments", ""))
    except ValueError:
        return CommentsWanted()
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    return CommentsWanted(tension, min(max(page, 1), COMMENTS_LAST_PAGE))


@role_required(*DASHBOARD_ROLES)
@require_http_methods(["GET", "HEAD"])
def dashboard(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    cycle = _get_cycle_for_user(request, slug)
    data = build_dashboard(cycle, request.user, _comments_wanted(request))
    return render(request, "surveys/dashboard.html", _dashboard_context(cycle, data, SurveyAccess.of(request.user)))


@role_required(*DASHBOARD_ROLES)
@require_http_methods(["GET", "HEAD"])
def report_pdf(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The dashboard as a few printable pages for a board: the released figures, the study's
    reference and the trend; no comments, and no one's own answers (a report is passed on)."""
    cycle = _get_cycle_for_user(request, slug)
    data = build_dashboard(cycle, viewer=None)
    context = _dashboard_context(cycle, data, SurveyAccess.of(request.user))
    context |= {"portal_name": settings.PORTAL_NAME, "today": timezone.localdate()}
    return pdf_response(request, "surveys/report.html", context, f"{cycle.slug}-report-{timezone.localdate()}.pdf")


# summary.csv: each figure in its own column, numbers only; a figure not shown is an empty cell,
# and the last columns say which figures of the row are not shown and why.
SUMMARY_COLUMNS = ["tension", "tension_title", *FIGURES, "suppressed", "suppressed_figures", "suppressed_reason"]


@role_required(*DOWNLOAD_ROLES)
@require_http_methods(["GET", "HEAD"])
def summary_csv(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    cycle = _get_cycle_for_user(request, slug)
    data = build_dashboard(cycle, request.user)
    rows = []
    for number, figures in data.district.items():
        hidden = [name for name in FIGURES if PART_OF[name] in figures.hidden]
        reasons = dict.fromkeys(figures.reason(part) for part in PARTS if part in figures.hidden)
        rows.append(
            [
                number,
                figures.tension.title,
                *(None if name in hidden else figures.value(name) for name in FIGURES),
                bool(hidden),
                " ".join(hidden),
                "; ".join(reasons),
            ]
        )
    return csv_response(f"{cycle.slug}-summary.csv", SUMMARY_COLUMNS, rows)


@role_required(*DOWNLOAD_ROLES)
@require_http_methods(["GET", "HEAD"])
def export_csv(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The anonymised answers of the cycle's closing release (a header only before the
    cycle closes: rows released batch by batch could be told apart by comparing files)."""
    cycle = _get_cycle_for_user(request, slug)
    release = current_release(cycle)
    rows: list[list[object]] = []
    if release is not None and release.exportable:
        rows = list(Release.objects.values_list("export", flat=True).get(pk=release.pk) or [])
        random.SystemRandom().shuffle(rows)
    tensions = list(Tension.objects.values_list("number", flat=True).order_by("number"))
    return csv_response(f"{cycle.slug}-answers.csv", export_columns(tensions), rows)


@role_required(*IMPORT_ROLES)
@require_http_methods(["GET", "POST"])
def import_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    cycle = _get_cycle_for_user(request, slug)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = responses_import(cycle=cycle, text=upload.text, filename=upload.name, user=request.user)
        except CsvError as failure:
            form.add_csv_error(failure)
        else:
            if result.responses:
                messages.success(request, result.summary(cycle))
            else:
                messages.warning(request, f"Nothing new was imported. {result.summary(cycle)}")
            return redirect("surveys:import", slug=cycle.slug)
    imports = ImportBatch.objects.filter(cycle=cycle).select_related("imported_by", "undone_by")
    return render(
        request,
        "surveys/import.html",
        {"cycle": cycle, "form": form, "imports": imports},
        status=400 if request.method == "POST" else 200,
    )


@role_required(*IMPORT_ROLES)
@require_POST
def import_undo_view(request: AuthenticatedHttpRequest, slug: str, pk: int) -> HttpResponse:
    """Remove the responses one import brought in (the import stays listed as undone)."""
    cycle = _get_cycle_for_user(request, slug)
    batch = get_object_or_404(ImportBatch, cycle=cycle, pk=pk)
    try:
        removed = import_undo(batch=batch, user=request.user)
    except ImportAlreadyUndone as problem:
        messages.error(request, str(problem))
    else:
        messages.success(request, f"Undid the import of {batch.filename}: {removed} responses removed.")
    return redirect("surveys:import", slug=cycle.slug)
