"""The district's board report: a few printable pages drawn as PDF on the server.

Headline figures with their change, where leaders place the district on the survey's seven
tensions beside the "Look Both Ways" study, openness over time and who learns from whom,
and the Models of Excellence, for the reader's scope and filter, like the dashboard. The
survey's own report is `/surveys/<slug>/report.pdf`.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from insights.charts import heat_map, openness_chart
from insights.district import DISTRICT_DASHBOARD_ROLES, build_district_dashboard, filtered_scope, opened_cycles
from portal.decorators import role_required
from portal.http import AuthenticatedHttpRequest
from portal.lib.pdf import pdf_response
from surveys.dashboard import NO_STUDY_FIGURE, build_dashboard, respondents_label
from surveys.dashboard import reason_key as survey_reason_key
from surveys.models import MIN_GROUP
from surveys.stats import SUPPRESSED


@role_required(*DISTRICT_DASHBOARD_ROLES)
@require_http_methods(["GET", "HEAD"])
def district_report(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Counted afresh, like a download, for the reader's scope and filter."""
    scope, form = filtered_scope(request.user, request.GET)
    data = build_district_dashboard(scope, with_survey=False)
    cycles = opened_cycles()
    # No reader's view of the survey: a report is passed on, so no comments and no own answers.
    survey = build_dashboard(cycles[-1], viewer=None, cycles=cycles) if cycles else None
    today = timezone.localdate()
    school = data.schools[0].school if scope.school_id is not None and data.schools else None
    context = {
        "d": data,
        "survey": survey,
        "school": school,
        "filter_applied": form.is_bound and form.is_valid(),
        "openness_chart": openness_chart(data.months) if data.months else None,
        "heat_map": heat_map(data.exchange) if data.exchange else None,
        "portal_name": settings.PORTAL_NAME,
        "today": today,
        "min_group": MIN_GROUP,
        "suppressed_text": SUPPRESSED,
        "respondents_label": respondents_label(),
        "reason_key": survey_reason_key(),
        "no_study_figure": NO_STUDY_FIGURE,
    }
    filename = f"board-report{scope.file_label(school.slug if school else '')}-{today.isoformat()}.pdf"
    return pdf_response(request, "insights/report.html", context, filename)
