"""Pages that combine the feature apps: the home page by role and the district dashboard."""

from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from insights.charts import heat_map, openness_chart
from insights.district import (
    DISTRICT_DASHBOARD_ROLES,
    build_district_dashboard,
    dashboard_csv,
    district_dashboard_page,
    district_dashboard_recount,
    filtered_scope,
)
from portal.decorators import role_required
from portal.http import AuthenticatedHttpRequest
from portal.lib.figures import cached_figures, figures_context
from portal.models import Role, School, SchoolLevel, User
from practices.models import Practice, Status
from showcases.inbox import HOME_INBOX_ROWS, AwaitingDecisions, host_inbox
from showcases.models import RequestStatus, VisitRequest, can_host
from surveys.models import Cycle, SurveyAccess
from surveys.stats import SUPPRESSED


def _district_people() -> tuple[dict[str, int], list[tuple[str, int]]]:
    """The district at a glance: schools, active people by role and those never signed in;
    and the schools by level."""
    levels = list(School.objects.values("level").annotate(count=Count("pk")).order_by("level"))
    district = {
        "schools": sum(row["count"] for row in levels),
        **User.objects.active().aggregate(
            teachers=Count("pk", filter=Q(role=Role.TEACHER)),
            principals=Count("pk", filter=Q(role=Role.PRINCIPAL)),
            leaders=Count("pk", filter=Q(role=Role.DISTRICT_LEADER)),
            never_signed_in=Count("pk", filter=Q(last_login__isnull=True)),
        ),
    }
    return district, [(str(SchoolLevel(row["level"]).label), row["count"]) for row in levels]


@require_http_methods(["GET", "HEAD"])
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    context: dict[str, object] = {"school": user.school}
    if user.school is not None:
        context["colleague_counts"] = (
            User.objects.active()
            .filter(school=user.school)
            .aggregate(
                teachers=Count("pk", filter=Q(role=Role.TEACHER)),
                principals=Count("pk", filter=Q(role=Role.PRINCIPAL)),
            )
        )
    if user.is_district_office:
        # Counting every person of a large district costs more than the rest of the page: the
        # counts are kept for a few minutes, and the page says when they were made.
        (district, by_level), context["district_as_of"] = cached_figures("district-people", (), _district_people)
        context["district"], context["schools_by_level"] = district, by_level
    visible = Practice.objects.visible_to(user).published().select_related("school", "author")
    context["featured"] = visible.filter(featured_at__isnull=False).order_by("-featured_at")[:3]
    context["recent"] = visible.order_by("-published_at")[:5]
    context["my_upcoming_visits"] = (
        VisitRequest.objects.filter(requester=user, status=RequestStatus.APPROVED, slot__starts_at__gt=timezone.now())
        .select_related("slot", "slot__showcase", "slot__showcase__host_school")
        .order_by("slot__starts_at")[:3]
    )
    if SurveyAccess.of(user).can_answer:
        context["open_cycle"] = Cycle.objects.open_on(timezone.localdate()).order_by("closes_on").first()
    if user.school_id is not None:
        context["drafts"] = Practice.objects.filter(author=user, status=Status.DRAFT).order_by("-updated_at")[:5]
    if can_host(user):
        inbox = host_inbox(user, limit=HOME_INBOX_ROWS)
        context["host_inbox"] = inbox
        # The navigation's badge, counted with the inbox.
        context["awaiting_decisions"] = AwaitingDecisions(user, count=inbox.pending_count)
        context["can_host"] = True
    return render(request, "insights/home.html", context)


@role_required(*DISTRICT_DASHBOARD_ROLES)
@require_http_methods(["GET", "HEAD"])
def district_dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    """District leaders and staff see the district; a principal sees their own school."""
    scope, form = filtered_scope(request.user, request.GET)
    table = request.GET.get("download")
    if table:
        # A download is counted afresh and has every row.
        return dashboard_csv(build_district_dashboard(scope), table)
    start, end = (day.isoformat() if day else None for day in (scope.start, scope.end))
    data, as_of = cached_figures(
        "district",
        (scope.school_id, scope.level, start, end),
        lambda: district_dashboard_page(scope),
        recount=district_dashboard_recount,
    )
    return render(
        request,
        "insights/dashboard.html",
        {
            "d": data,
            "openness_chart": openness_chart(data.months),
            "heat_map": heat_map(data.exchange) if data.exchange else None,
            "suppressed_text": SUPPRESSED,
            "form": form,
            "as_of": as_of,
            **figures_context(),
        },
    )
