"""The survey dashboard reads at a glance: charts drawn from the released figures, the response
rate, the study's reference, why an empty cell is empty, a numeric summary.csv and a board
report whose text carries the same figures."""

import csv
import io
import itertools
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from portal.lib.charts import text_width
from portal.models import Role
from surveys.charts import CENTRE, PLOT_LEFT, PLOT_RIGHT, tension_chart, trend_chart, x_of
from surveys.dashboard import ResponseRate, build_dashboard
from surveys.models import Tension
from surveys.stats import FIGURES, Figures
from surveys.study import STUDY
from tests.factories import LeaderFactory, PrincipalFactory, TeacherFactory
from tests.surveys.conftest import close

pytestmark = pytest.mark.django_db


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def test_the_response_rate_counts_active_people_in_the_survey_roles_by_the_close(as_user, leader, cycle, known_answers):
    """Eight responded; invited: those eight and the signed-in leader. Not invited: a teacher,
    a principal whose account is inactive, and one who joined after the cycle closed."""
    TeacherFactory()
    PrincipalFactory(is_active=False)
    late = LeaderFactory()
    late.date_joined = timezone.now() + timedelta(days=30)
    late.save()
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/")
    rate = page.context["d"].rate
    assert (rate.responses, rate.invited, rate.pct) == (8, 9, 89)
    assert "8 of 9 invited principals and district leaders, 89%" in page.content.decode()


def test_the_response_rate_says_what_it_cannot_know():
    assert ResponseRate(18, 24).text == "18 of 24 invited principals and district leaders, 75%"
    assert ResponseRate(3, 24).text == "fewer than 5 of 24 invited principals and district leaders"
    assert ResponseRate(30, 24).pct is None and "imported responses" in ResponseRate(30, 24).text
    assert "nobody in the survey's roles was on the roster" in ResponseRate(12, 0).text


def test_the_charts_draw_the_released_figures(as_user, leader, cycle, known_answers):
    d = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").context["d"]
    first = d.charts[0]
    # Tension 1: positions 1, 2, 2, 3, 4, 5 — quartiles 2, 2.5, 3.75.
    assert (first.box.minimum, first.box.q1, first.box.median, first.box.maximum) == (
        PLOT_LEFT,
        x_of(2),
        x_of(2.5),
        PLOT_RIGHT,
    )
    # 50% left, 17% balanced, 33% right: the balanced share is centred.
    left, balanced, right = first.district.segments
    assert (left.pct, balanced.pct, right.pct) == (50, 17, 33)
    assert balanced.x + balanced.width / 2 == pytest.approx(CENTRE, abs=0.1)
    assert left.x + left.width == pytest.approx(balanced.x, abs=0.1)
    # Tension 3 had four answers: no box and no bar, and the drawing says why.
    assert d.charts[2].box is None and d.charts[2].district is None


def test_labels_wrap_instead_of_being_cut():
    tension = Tension(number=3, title="T", left_label="A very long left pole label that cannot fit", right_label="B")
    chart = tension_chart(Figures(tension, {}, dict.fromkeys(("position", "resources", "priority"), "few")))
    assert " ".join(chart.left_pole.lines).replace("\u00a0", " ") == "← A very long left pole label that cannot fit"
    assert len(chart.left_pole.lines) > 1


def test_a_pole_named_in_one_long_word_wraps_within_its_half_of_the_chart():
    """A word longer than a line is broken across lines: it neither runs into the other pole
    nor is cut short."""
    long_word = "Build-internally-through-our-own-leadership-academies"
    tension = Tension(number=4, title="T", left_label=long_word, right_label="Buy externally")
    chart = tension_chart(Figures(tension, {}, dict.fromkeys(("position", "resources", "priority"), "few")))
    half = (PLOT_RIGHT - PLOT_LEFT) / 2 - 6
    assert len(chart.left_pole.lines) > 1
    assert all(text_width(line, chart.left_pole.size) <= half for line in chart.left_pole.lines)
    assert "".join(chart.left_pole.lines).replace("\u00a0", " ") == f"← {long_word}"


def test_long_cycle_names_under_the_trend_charts_wrap_inside_the_chart():
    tension = Tension(number=1, title="T", left_label="A", right_label="B")
    names = ["Fall 2025 leadership survey of principals and district leaders (paper and online)", "Spring 2026"]
    figures = Figures(tension, {"n": 9, "median": 3, "lean_left_pct": 20, "lean_right_pct": 40}, {})
    trend = trend_chart(tension, names, [figures, figures])
    for panel in (trend.median, trend.shares):
        assert [" ".join(label.lines) for label in panel.labels] == names
        spans = []
        for label in panel.labels:
            widest = max(text_width(line, label.size) for line in label.lines)
            spans.append((label.x - widest / 2, label.x + widest / 2))
            assert all(line.y <= panel.height for line in label.placed)
        assert all(start >= 0 and end <= panel.width for start, end in spans)
        assert all(left[1] <= right[0] for left, right in itertools.pairwise(spans))
    # The lower panel starts below the upper one's labels.
    assert trend.shares_offset >= trend.median.height


def test_the_studys_reference_is_labelled_as_the_studys(as_user, leader, cycle, known_answers):
    response = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/")
    html = response.content.decode()
    assert "Look Both Ways study (The Learning Accelerator, 2024): 89 leaders from 60 systems" in html
    assert "They are the study's figures, not the district's" in html
    reference = {row.figures.tension.number: row for row in response.context["d"].reference}
    assert (reference[7].study_left, reference[7].study_right) == ("53%", "12%")
    assert (reference[7].study_resources, reference[7].study_priority) == ("81%", "28%")
    assert (reference[5].study_left, reference[5].study_right) == ("14%", "67%")
    assert (reference[2].study_left, reference[2].study_right) == ("16%", "68%")
    assert (reference[6].study_left, reference[6].study_right) == ("27%", "51%")
    assert reference[1].study_left == "no figure" and reference[4].study_resources == "no figure"
    assert html.count('<p class="meta">The study published no shares for this tension.</p>') == 3


def test_every_segment_value_is_listed_with_why_its_row_is_empty(as_user, leader, cycle, known_answers):
    response = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/")
    levels = {b.segment: b for b in response.context["d"].breakdowns}["school_level"]
    rows = {group.key: group.reason for group in levels.rows}
    # Elementary and middle responded (and are hidden); nobody from a high school did.
    assert rows["high"] == "no responses from this group"
    assert rows["elementary"] == "not shown, so that a smaller group cannot be worked out from the totals"
    assert list(rows) == ["elementary", "middle", "high", "k8", "k12", "other", ""]
    roles = {b.segment: b for b in response.context["d"].breakdowns}["role"]
    assert {group.key for group in roles.rows} == {Role.PRINCIPAL, Role.DISTRICT_LEADER}
    assert "no responses from this group" in response.content.decode()


def test_summary_numbers_parse_as_numbers_and_name_their_tension(as_user, leader, cycle, known_answers):
    text = as_user(leader).get(f"/surveys/{cycle.slug}/summary.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[6]["tension_title"] == "What should we catalogue and share?"
    for row in rows:
        for name in FIGURES:
            if row[name] != "":
                float(row[name])
        hidden = row["suppressed_figures"].split()
        assert (row["suppressed"] == "yes") == bool(hidden)
        assert all(row[name] == "" for name in hidden)


def test_the_board_report_carries_the_figures_and_the_studys_reference(as_user, leader, cycle, known_answers):
    response = as_user(leader).get(f"/surveys/{cycle.slug}/report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{cycle.slug}-report-')
    text = _text(response.content)
    for tension in build_dashboard(cycle, None).tensions:
        assert tension.title in text
    assert "Leadership survey: Fall" in text and "District Practice Exchange" in text
    assert f"Printed {timezone.localdate():%B %-d, %Y}" in text
    # Tension 1's row: n 6, quartiles 2, 2.5, 3.75, shares 50%, 17%, 33%.
    assert "6 1 2 2.5 3.75 5 50% 17% 33%" in text
    assert "8 of 9 invited principals and district leaders, 89%" in text
    assert STUDY.label in text and "53%" in text and "81%" in text
    # A report is passed on: no comment is in it.
    assert "Need more coaching time." not in text


def test_the_board_report_of_a_closed_cycle_has_its_final_figures(as_user, staff, cycle, known_answers):
    close(cycle)
    text = _text(as_user(staff).get(f"/surveys/{cycle.slug}/report.pdf").content)
    assert "Final figures" in text


@pytest.mark.parametrize("name", ["teacher", "other_teacher"])
def test_teachers_get_no_report(as_user, request, cycle, name):
    assert as_user(request.getfixturevalue(name)).get(f"/surveys/{cycle.slug}/report.pdf").status_code == 403


def test_the_reports_queries_do_not_grow_with_responses(
    as_user, leader, cycle, known_answers, django_assert_max_num_queries
):
    """Session, user, cycle, tensions, cycles so far (with whom they invited) and their latest
    releases: fixed, whatever the number of responses or people."""
    client = as_user(leader)
    client.get(f"/surveys/{cycle.slug}/dashboard/")  # the session's first request also records it
    with django_assert_max_num_queries(6) as captured:
        client.get(f"/surveys/{cycle.slug}/report.pdf")
    for _ in range(6):
        PrincipalFactory()
    with django_assert_max_num_queries(len(captured)):
        client.get(f"/surveys/{cycle.slug}/report.pdf")
