"""The demo district has something to act on: openness that varies by school and over time,
schools that share nothing yet, survey segments that are shown, and response rates below 100%."""

import pytest
from django.core.management import call_command

from insights.demo import PROFILES, SILENT
from insights.district import Scope, build_district_dashboard
from practices.models import Practice
from surveys.dashboard import build_dashboard
from surveys.models import Cycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    call_command("seed_demo", "--password", "demo-pass-123")


def test_openness_varies_by_school_and_some_share_nothing(seeded):
    data = build_district_dashboard(Scope())
    shares = [row.failures_pct for row in data.schools if row.failures_pct is not None]
    assert min(shares) <= 25 and max(shares) >= 60
    assert {school.slug for school in data.silent_schools} == SILENT
    # Months of history, and practices travel between many schools.
    assert len(data.months) >= 12
    assert data.exchange is not None
    assert len(data.exchange.schools) == 12 and data.exchange.schools_in_all > 12


def test_survey_segments_are_shown_and_not_everyone_answered(seeded):
    dashboard = build_dashboard(Cycle.objects.get(slug="spring-2026"), viewer=None)
    shown = [group for breakdown in dashboard.breakdowns for group in breakdown.groups if not group.hidden]
    assert {group.key for group in shown} >= {"principal", "elementary"}
    assert len(shown) >= 8
    rate = dashboard.rate
    assert rate.invited >= 30 and rate.pct is not None and 60 <= rate.pct < 100


def test_the_story_is_added_once(seeded):
    practices = Practice.objects.count()
    call_command("seed_demo", "--password", "demo-pass-123")
    assert Practice.objects.count() == practices
    assert Practice.objects.filter(school__slug__in=PROFILES).count() > len(PROFILES) * 2
