from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from portal.decorators import role_required
from portal.figures import figures_context
from portal.lib.csvfile import csv_response
from portal.models import Role, User
from surveys.dashboard import build_dashboard
from surveys.forms import ImportForm, ResponseForm
from surveys.models import DASHBOARD_ROLES, SURVEY_ROLES, Answer, Cycle, Response, Tension
from surveys.services import SurveyImportError, response_save, responses_export, responses_import
from surveys.stats import FIGURES, MIN_GROUP, SUPPRESSED


def _get_cycle_for_user(request: HttpRequest, slug: str) -> Cycle:
    return get_object_or_404(Cycle.objects.visible_to(request.user), slug=slug)


@require_http_methods(["GET", "HEAD"])
def cycle_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if user.role == Role.TEACHER:
        raise PermissionDenied
    cycles = list(Cycle.objects.visible_to(user))
    answered = set(Response.objects.filter(respondent=user).values_list("cycle_id", flat=True))
    today = timezone.localdate()
    return render(
        request,
        "surveys/list.html",
        {
            "cycles": [(cycle, cycle.is_open(today), cycle.pk in answered) for cycle in cycles],
            "can_respond": user.role in SURVEY_ROLES,
            "can_see_dashboard": user.role in [*DASHBOARD_ROLES, Role.PRINCIPAL],
        },
    )


@role_required(*SURVEY_ROLES)
@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, slug: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
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
            response_save(cycle=cycle, user=user, answers=form.answer_values())
            messages.success(request, "Your answers are saved. You can change them until the cycle closes.")
            return redirect("surveys:respond", slug=cycle.slug)
        return render(
            request, "surveys/respond.html", {"cycle": cycle, "form": form, "answered": bool(existing)}, status=400
        )
    return render(request, "surveys/respond.html", {"cycle": cycle, "form": form, "answered": bool(existing)})


@role_required(Role.PRINCIPAL, Role.DISTRICT_LEADER, Role.DISTRICT_STAFF)
@require_http_methods(["GET", "HEAD"])
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    cycle = _get_cycle_for_user(request, slug)
    data = build_dashboard(cycle, request.user)
    return render(
        request,
        "surveys/dashboard.html",
        {
            "cycle": cycle,
            "d": data,
            "figures": FIGURES,
            "SUPPRESSED": SUPPRESSED,
            "min_group": MIN_GROUP,
            **figures_context(),
        },
    )


@role_required(*DASHBOARD_ROLES)
@require_http_methods(["GET", "HEAD"])
def summary_csv(request: HttpRequest, slug: str) -> HttpResponse:
    cycle = _get_cycle_for_user(request, slug)
    data = build_dashboard(cycle, request.user)
    rows = [
        [number, SUPPRESSED, *[""] * (len(FIGURES) - 1)]
        if figures.suppressed
        else [number, *(figures.value(name) for name in FIGURES)]
        for number, figures in data.district.items()
    ]
    return csv_response(f"{cycle.slug}-summary.csv", ["tension", *FIGURES], rows)


@role_required(*DASHBOARD_ROLES)
@require_http_methods(["GET", "HEAD"])
def export_csv(request: HttpRequest, slug: str) -> HttpResponse:
    cycle = _get_cycle_for_user(request, slug)
    response = HttpResponse(responses_export(cycle=cycle), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{cycle.slug}-answers.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(Role.DISTRICT_STAFF)
@require_http_methods(["GET", "POST"])
def import_view(request: HttpRequest, slug: str) -> HttpResponse:
    cycle = _get_cycle_for_user(request, slug)
    form = ImportForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            errors = [f"{upload.name}: not UTF-8 text; save it as CSV UTF-8"]
        else:
            try:
                result = responses_import(cycle=cycle, text=text, filename=upload.name)
            except SurveyImportError as failure:
                errors = [str(error) for error in failure.errors]
            else:
                messages.success(
                    request, f"Imported {result.responses} responses ({result.answers} answers) into {cycle.name}."
                )
                return redirect("surveys:dashboard", slug=cycle.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "surveys/import.html", {"cycle": cycle, "form": form, "import_errors": errors}, status=status
    )
