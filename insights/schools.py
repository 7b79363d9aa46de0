"""A school's page: its profile, the practices it shares as the reader may see them, its
showcases as the reader may see them, and its openness over time over those same practices.

Open to everyone signed in: a school's page is where the dashboards' school names lead, and
where a teacher finds what a school like theirs shares. Every figure on it is counted over the
practices the reader may open (`Practice.objects.visible_to`), so it never gives away an
entry kept inside another school.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Min, Q
from django.db.models.functions import TruncMonth
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from insights.charts import openness_chart
from insights.district import _every_month
from portal.http import AuthenticatedHttpRequest
from portal.models import School, User
from practices.models import TAGS, Practice
from showcases.models import Showcase
from surveys.stats import percent

PRACTICES_SHOWN = 12
SHOWCASES_SHOWN = 10


@dataclass
class SchoolPage:
    school: School
    practices: list[Practice]  # the latest the reader may open
    published: int  # all the reader may open
    with_failures: int
    with_evolution: int
    months: list[dict[str, Any]]
    showcases: Sequence[Showcase]  # with their next session and how many sessions
    more_showcases: bool

    @property
    def failures_pct(self) -> int | None:
        return percent(self.with_failures, self.published)

    @property
    def evolution_pct(self) -> int | None:
        return percent(self.with_evolution, self.published)

    @property
    def more_practices(self) -> bool:
        return self.published > len(self.practices)


def _month(value: date | datetime) -> date:
    return (timezone.localtime(value).date() if isinstance(value, datetime) else value).replace(day=1)


def school_page(school: School, reader: User) -> SchoolPage:
    """Four queries: the months' counts, the latest practices (their tags), the showcases."""
    visible = Practice.objects.visible_to(reader).published().filter(school=school)
    monthly = (
        visible.order_by()
        .annotate(month=TruncMonth("published_at"))
        .values("month")
        .annotate(
            published=Count("pk"),
            with_failures=Count("pk", filter=Q(failure_count__gt=0)),
            with_evolution=Count("pk", filter=Q(iteration_count__gte=2)),
        )
    )
    rows = list(monthly)
    months = _every_month(
        [
            {
                "month": _month(row["month"]),
                "published": row["published"],
                "failures_pct": percent(row["with_failures"], row["published"]),
                "evolution_pct": percent(row["with_evolution"], row["published"]),
            }
            for row in rows
        ]
    )
    practices = list(
        visible.with_counts(reader)
        .select_related("school", "author")
        .prefetch_related(TAGS)
        .order_by("-published_at", "-pk")[:PRACTICES_SHOWN]
    )
    now = timezone.now()
    showcases = list(
        Showcase.objects.visible_to(reader)
        .filter(host_school=school)
        .annotate(
            next_session=Min("slots__starts_at", filter=Q(slots__starts_at__gte=now, slots__cancelled_at__isnull=True)),
            sessions=Count("slots", distinct=True),
        )
        .order_by("-created_at", "-pk")[: SHOWCASES_SHOWN + 1]
    )
    return SchoolPage(
        school=school,
        practices=practices,
        published=sum(row["published"] for row in rows),
        with_failures=sum(row["with_failures"] for row in rows),
        with_evolution=sum(row["with_evolution"] for row in rows),
        months=months,
        showcases=showcases[:SHOWCASES_SHOWN],
        more_showcases=len(showcases) > SHOWCASES_SHOWN,
    )


@require_http_methods(["GET", "HEAD"])
def school_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    school = get_object_or_404(School, slug=slug)
    page = school_page(school, request.user)
    return render(
        request,
        "insights/school.html",
        {"page": page, "school": school, "openness_chart": openness_chart(page.months) if page.months else None},
    )
