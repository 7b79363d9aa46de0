"""The district dashboard tells a story: headline figures with their change, openness as a line
chart, who learns from whom as a heat map with its table, schools and practices to drill into
(each link open to its reader), downloads named after their filter, and a board report."""

import io
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from insights.charts import heat_map
from insights.district import Change, Exchange, ExchangeSchool, Period, Scope
from portal.lib.charts import text_width
from portal.lib.figures import figures_changed
from practices.models import Adoption
from showcases.models import VisitRequest
from surveys.models import Cycle
from surveys.services import figures_release
from surveys.study import STUDY
from tests.factories import (
    FailureFactory,
    IterationFactory,
    PracticeFactory,
    SchoolFactory,
    TeacherFactory,
    VisitSlotFactory,
)
from tests.surveys.conftest import add_response

pytestmark = pytest.mark.django_db


@pytest.fixture
def cycle(db):
    today = timezone.localdate()
    return Cycle.objects.create(
        name="Fall", slug="fall", opens_on=today - timedelta(days=3), closes_on=today + timedelta(days=10)
    )


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


@pytest.fixture
def story(school, other_school, teacher, other_teacher, principal):
    """In the last 90 days Maple Grove publishes 3 practices, 2 of them with a failure; in the
    90 days before, 2, neither with a failure. Riverside adopts two Maple Grove practices
    (one recent, one 120 days ago) and adapts one; Maple Grove adopts one of Riverside's.
    Riverside visits a Maple Grove showcase 3 days ago (2 seats)."""
    now = timezone.now()
    recent = [
        PracticeFactory(author=teacher, title=f"Recent {n}", published_at=now - timedelta(days=5 + n)) for n in range(3)
    ]
    FailureFactory(practice=recent[0])
    FailureFactory(practice=recent[1])
    IterationFactory.create_batch(2, practice=recent[2])
    earlier = [
        PracticeFactory(author=teacher, title=f"Earlier {n}", published_at=now - timedelta(days=100 + n))
        for n in range(2)
    ]
    river = PracticeFactory(author=other_teacher, title="River practice", published_at=now - timedelta(days=200))
    adoption = Adoption.objects.create(practice=recent[0], user=other_teacher, school=other_school)
    Adoption.objects.create(
        practice=earlier[0],
        user=TeacherFactory(school=other_school),
        school=other_school,
        created_at=now - timedelta(days=120),
    )
    Adoption.objects.create(practice=river, user=teacher, school=school)
    PracticeFactory(
        author=other_teacher, title="River adaptation", adapted_from=recent[1], lineage_root=recent[1],
        published_at=now - timedelta(days=200),
    )  # fmt: skip
    past = now - timedelta(days=3)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2), capacity=5)
    slot.seats_taken = 2
    slot.save()
    VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=2, status="approved")
    return {"recent": recent, "earlier": earlier, "adoption": adoption}


def test_headline_figures_say_their_change_against_the_days_before(as_user, leader, story):
    d = as_user(leader).get("/dashboard/").context["d"]
    assert not d.period.chosen and d.period.days == 90
    published, failures = d.changes["published"], d.changes["failures_pct"]
    # In the last 90 days: 3 of Maple's and none of Riverside's; the 90 days before: Maple's 2.
    assert (published.current, published.previous) == (3, 2)
    assert published.text == "3 in the last 90 days, ▲ up 1 on the 90 days before (2)"
    assert (failures.current, failures.previous) == (67, 0)
    assert failures.text == "67% in the last 90 days, ▲ up 67 points on the 90 days before (0%)"
    # Adoptions by another school: one recent (Riverside), one 120 days ago, one older (Maple's of River's).
    assert (d.changes["adoptions"].current, d.changes["adoptions"].previous) == (2, 1)
    assert (d.changes["sessions"].current, d.changes["seats"].current) == (1, 2)


def test_a_chosen_period_is_compared_with_as_many_days_before_it(as_user, leader, story):
    start = timezone.localdate() - timedelta(days=29)
    d = as_user(leader).get("/dashboard/", {"start": start.isoformat()}).context["d"]
    assert d.period == Period(start, timezone.localdate(), chosen=True)
    assert d.period.previous_start == start - timedelta(days=30)
    assert d.changes["published"].text.startswith("3 in the period, ▲ up 3 on the 30 days before (0)")


def test_a_change_says_plainly_when_there_is_nothing_to_compare():
    period = Period(date(2026, 1, 1), date(2026, 3, 31), chosen=False)
    assert (
        Change(period, None, None, percent=True).text == "nothing published in the last 90 days or the 90 days before"
    )
    assert (
        Change(period, 40, None, percent=True).text == "40% in the last 90 days; nothing published the 90 days before"
    )
    assert Change(period, 5, 5).text == "5 in the last 90 days, the same as the 90 days before"
    assert Change(period, 2, 7).text == "2 in the last 90 days, ▼ down 5 on the 90 days before (7)"


def test_who_learns_from_whom_is_a_matrix_with_its_table(as_user, leader, story, school, other_school):
    response = as_user(leader).get("/dashboard/")
    exchange = response.context["d"].exchange
    assert [s.name for s in exchange.schools] == ["Maple Grove Elementary", "Riverside Middle School"]
    # Riverside learned from Maple Grove: 2 adoptions, 1 adaptation, 1 visit; Maple Grove from Riverside: 1.
    assert exchange.counts == [[0, 4], [1, 0]]
    html = response.content.decode()
    assert 'role="img" aria-labelledby="heat-title heat-desc"' in html
    assert "Who learned from whom: times the school in each column learned from the school in each row" in html


def test_the_heat_maps_shades_follow_the_counts():
    schools = [ExchangeSchool(n, f"School {n}", f"s{n}") for n in range(3)]
    drawn = heat_map(Exchange(schools, [[0, 8, 1], [4, 0, 0], [0, 2, 0]], schools_in_all=5))
    levels = [[cell.level for cell in row.cells] for row in drawn.rows]
    assert levels == [[0, 4, 1], [2, 0, 0], [0, 1, 0]]
    assert [cell.same_school for cell in drawn.rows[1].cells] == [False, True, False]
    assert drawn.levels == [(0, "none"), (1, "1–2"), (2, "3–4"), (3, "5–6"), (4, "7–8")]
    assert Exchange(schools, [[0] * 3] * 3, schools_in_all=5).truncated


def test_a_school_named_in_long_words_keeps_its_heat_map_label_inside_the_drawing():
    long_name = "Pneumonoultramicroscopicsilicovolcanoconiosis-Interdisciplinary-Academy of the Valley"
    schools = [ExchangeSchool(1, long_name, "s1"), ExchangeSchool(2, "School 2", "s2")]
    drawn = heat_map(Exchange(schools, [[0, 1], [2, 0]], schools_in_all=2))
    label = drawn.rows[0].label
    assert all(label.x - text_width(line, label.size) >= 0 for line in label.lines)
    assert "".join(label.lines).replace(" ", "") == "1." + long_name.replace(" ", "")


def test_every_school_name_leads_to_its_page(as_user, leader, story, school, other_school):
    html = as_user(leader).get("/dashboard/").content.decode()
    assert f'<a href="/schools/{school.slug}/">Maple Grove Elementary</a>' in html
    assert f'<a href="/schools/{other_school.slug}/">Riverside Middle School</a>' in html


@pytest.mark.parametrize("name", ["principal", "leader", "staff"])
def test_every_practice_linked_on_the_dashboard_opens_for_its_reader(as_user, request, story, school, name):
    PracticeFactory(
        author=TeacherFactory(school=school), title="Kept at Maple", visibility="school", featured_at=timezone.now()
    )
    client = as_user(request.getfixturevalue(name))
    html = client.get("/dashboard/").content.decode()
    links = set(re.findall(r'href="(/practices/\d+/)"', html))
    assert links
    for link in links:
        assert client.get(link).status_code == 200, link


def test_a_filtered_download_is_named_after_its_filter(as_user, leader, principal, story):
    response = as_user(leader).get(
        "/dashboard/", {"start": "2026-01-01", "end": "2026-06-30", "level": "middle", "download": "schools"}
    )
    assert 'filename="district-schools-2026-01-01_to_2026-06-30-middle.csv"' in response["Content-Disposition"]
    plain = as_user(leader).get("/dashboard/", {"download": "months"})
    assert 'filename="district-months.csv"' in plain["Content-Disposition"]
    own = as_user(principal).get("/dashboard/", {"start": "2026-01-01", "download": "flows"})
    assert 'filename="district-flows-maple-grove-from_2026-01-01.csv"' in own["Content-Disposition"]
    assert Scope(end=date(2026, 6, 30)).file_label() == "-to_2026-06-30"


def test_the_page_loads_its_sorting_script_and_marks_sortable_tables(as_user, leader, story):
    html = as_user(leader).get("/dashboard/").content.decode()
    assert "js/sortable-tables.js" in html and '<table class="stack sortable">' in html
    assert 'data-value="40"' in html  # Maple Grove: 2 of its 5 with failures, sorted as a number


def test_query_count_is_fixed_with_a_survey_too(as_user, leader, story, cycle, django_assert_max_num_queries):
    """With a survey cycle (its tension 7 released): session, user, flows (the mark of their
    totals, the days since, the schools' totals, the pairs that may be shown), practice figures,
    schools, top adopted, top adapted, featured, cycle, tension 7, its release: at most 15."""
    for _ in range(5):
        add_response(cycle, answers={7: (4, True, "high", "")})
    figures_release(cycle=cycle)
    client = as_user(leader)
    client.get("/dashboard/")
    figures_changed("district")
    with django_assert_max_num_queries(15) as captured:
        page = client.get("/dashboard/")
    assert page.context["d"].say.values["median"] == 4
    for n in range(4):
        teacher = TeacherFactory(school=SchoolFactory(slug=f"more-{n}"))
        PracticeFactory(author=teacher)
        Adoption.objects.create(practice=story["recent"][0], user=teacher, school=teacher.school)
    figures_changed("district")
    with django_assert_max_num_queries(len(captured)):
        client.get("/dashboard/")


def test_the_board_report_carries_the_story_and_the_studys_reference(as_user, leader, story, cycle):
    for position in (1, 2, 2, 3, 4):
        add_response(cycle, answers={7: (position, True, "high", ""), 5: (4, None, None, "")})
    figures_release(cycle=cycle)
    story["recent"][0].featured_at = timezone.now()
    story["recent"][0].featured_note = "A model of honest sharing."
    story["recent"][0].save()
    response = as_user(leader).get("/dashboard/report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="board-report-')
    text = _text(response.content)
    assert "District Practice Exchange" in text and f"Printed {timezone.localdate():%B %-d, %Y}" in text
    assert "3 in the last 90 days, ▲ up 1 on the 90 days before (2)" in text
    assert "How do we decide what the district should hold tight vs. loose?" in text
    assert "What should we catalogue and share?" in text
    assert STUDY.label in text and "53%" in text and "12%" in text
    assert "A model of honest sharing." in text and "Recent 0" in text
    assert "Who learns from whom" in text and "Openness over time" in text


def test_a_principals_board_report_covers_their_school(as_user, principal, story):
    response = as_user(principal).get("/dashboard/report.pdf", {"start": "2020-01-01"})
    assert 'filename="board-report-maple-grove-from_2020-01-01-' in response["Content-Disposition"]
    assert "Board report: Maple Grove Elementary" in _text(response.content)


@pytest.mark.parametrize("name", ["teacher", "other_teacher"])
def test_teachers_get_no_board_report(as_user, request, name):
    assert as_user(request.getfixturevalue(name)).get("/dashboard/report.pdf").status_code == 403


def test_the_board_reports_queries_are_fixed(as_user, leader, story, cycle, django_assert_max_num_queries):
    """Session, user, the dashboard's counts (flows, practice figures, schools, top adopted,
    top adapted, featured) and the survey's (cycle, tensions, cycles, releases): at most 12."""
    for _ in range(5):
        add_response(cycle)
    figures_release(cycle=cycle)
    client = as_user(leader)
    client.get("/dashboard/")
    with django_assert_max_num_queries(12) as captured:
        client.get("/dashboard/report.pdf")
    for n in range(3):
        PracticeFactory(author=TeacherFactory(school=SchoolFactory(slug=f"more-{n}")))
    with django_assert_max_num_queries(len(captured)):
        client.get("/dashboard/report.pdf")
