"""Every dashboard figure and summary.csv cell equals a hand computation."""

import csv
import io
import statistics

import pytest

from surveys.models import Answer, Response, Tension
from surveys.services import figures_release
from surveys.stats import percent, protect_partition, quartiles
from tests.factories import LeaderFactory, PrincipalFactory, SchoolFactory

pytestmark = pytest.mark.django_db


def test_quartiles_interpolate_between_closest_ranks():
    assert quartiles([1, 2, 2, 3, 4, 5]) == (2.0, 2.5, 3.75)
    assert quartiles([3, 3, 3, 3, 3, 3, 3, 4]) == (3.0, 3.0, 3.0)
    assert quartiles([1, 4]) == (1.75, 2.5, 3.25)
    assert quartiles([1, 2, 2, 3, 4, 5]) == tuple(statistics.quantiles([1, 2, 2, 3, 4, 5], n=4, method="inclusive"))


def test_percentages_round_half_up():
    assert percent(1, 8) == 13  # 12.5 -> 13 (banker's rounding would give 12)
    assert percent(7, 8) == 88  # 87.5 -> 88
    assert percent(1, 6) == 17
    assert percent(1, 3) == 33
    assert percent(5, 200) == 3  # 2.5 -> 3
    assert percent(0, 0) is None


def test_complementary_suppression_hides_the_next_smallest_group():
    assert protect_partition({"a": 3, "b": 9, "c": 7}, {"a"}) == {"a", "c"}
    assert protect_partition({"a": 3, "b": 2, "c": 7}, {"a", "b"}) == {"a", "b"}
    assert protect_partition({"a": 9, "b": 7}, set()) == set()


def test_hidden_groups_that_together_hold_fewer_than_five_hide_another():
    """Two hidden groups of 1 and 2: the total minus the visible groups would show the 3 together."""
    assert protect_partition({"a": 1, "b": 2, "c": 5, "d": 9}, {"a", "b"}) == {"a", "b", "c"}
    # A few changed answers hidden in one group are protected the same way.
    assert protect_partition({"a": 8, "b": 9, "c": 7}, {"a"}, {"a": 2}) == {"a", "b", "c"}
    assert protect_partition({"a": 8, "b": 9, "c": 7}, {"a"}, {"a": 2, "c": 3}) == {"a", "c"}


def test_dashboard_district_figures(as_user, leader, cycle, known_answers):
    response = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/")
    assert response.status_code == 200
    district = response.context["d"].district
    t1 = district[1].values
    assert not district[1].suppressed
    assert {k: t1[k] for k in ["n", "min", "q1", "median", "q3", "max"]} == {
        "n": 6,
        "min": 1,
        "q1": 2,
        "median": 2.5,
        "q3": 3.75,
        "max": 5,
    }
    # 3 of 6 lean left, 1 of 6 balanced (16.7), 2 of 6 lean right (33.3);
    # resources: 3 yes of 5 yes/no; high priority: 3 of 5 answered.
    assert (t1["lean_left_pct"], t1["balanced_pct"], t1["lean_right_pct"]) == (50, 17, 33)
    assert (t1["resources_pct"], t1["high_priority_pct"]) == (60, 60)
    t2 = district[2].values
    assert (t2["n"], t2["median"], t2["balanced_pct"], t2["lean_right_pct"], t2["lean_left_pct"]) == (8, 3, 88, 13, 0)
    # Nobody said anything about resources or priority on tension 2: fewer than 5 answers.
    assert district[2].value("resources_pct") is None and district[2].hidden["resources"] == "few"
    # Tension 3 was answered by only four people, tension 4 by nobody.
    assert district[3].suppressed and district[4].suppressed
    page = response.content.decode()
    row = page[page.index('<th scope="row">1. ') :]
    row = row[: row.index("</tr>")]
    cells = [cell.split("<")[0] for cell in row.split('<td class="num">')[1:]]
    assert cells == ["6", "1", "2", "2.5", "3.75", "5", "50%", "17%", "33%", "60%", "60%"]
    assert "fewer than 5 responses" in page


def test_summary_csv_cells_equal_the_hand_computation(as_user, leader, cycle, known_answers):
    response = as_user(leader).get(f"/surveys/{cycle.slug}/summary.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "tension",
        "tension_title",
        "n",
        "min",
        "q1",
        "median",
        "q3",
        "max",
        "lean_left_pct",
        "balanced_pct",
        "lean_right_pct",
        "resources_pct",
        "high_priority_pct",
        "suppressed",
        "suppressed_figures",
        "suppressed_reason",
    ]
    assert len(rows) == 7
    assert rows[0] == {
        "tension": "1", "tension_title": "How do we decide what the district should hold tight vs. loose?",
        "n": "6", "min": "1", "q1": "2", "median": "2.5", "q3": "3.75", "max": "5",
        "lean_left_pct": "50", "balanced_pct": "17", "lean_right_pct": "33", "resources_pct": "60", "high_priority_pct": "60",
        "suppressed": "no", "suppressed_figures": "", "suppressed_reason": "",
    }  # fmt: skip
    assert rows[1]["balanced_pct"] == "88" and rows[1]["lean_right_pct"] == "13"
    # A figure not shown is an empty cell; the row says which figures are not shown, and why.
    assert rows[1]["resources_pct"] == "" and rows[1]["suppressed"] == "yes"
    assert rows[1]["suppressed_figures"] == "resources_pct high_priority_pct"
    assert rows[1]["suppressed_reason"] == "fewer than 5 responses"
    assert rows[2]["n"] == "" and rows[2]["median"] == "" and rows[2]["suppressed"] == "yes"


def test_segments_suppress_small_groups_and_their_complement(as_user, leader, cycle, known_answers):
    response = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/")
    breakdowns = {b.segment: b for b in response.context["d"].breakdowns}
    roles = {group.key: (group.size, bool(group.hidden)) for group in breakdowns["role"].groups}
    # Two leaders (< 5) are hidden, and then the principals too: the total would give the leaders away.
    assert roles == {"principal": (6, True), "district_leader": (2, True)}
    # Each hidden row says why: too few answers, or hidden to protect the smaller group.
    html = response.content.decode()
    principals_row = html.split('<th scope="row">Principal</th>')[1].split("</tr>")[0]
    leaders_row = html.split('<th scope="row">District leader</th>')[1].split("</tr>")[0]
    assert "fewer than 5" not in principals_row and "so that a smaller group cannot be worked out" in principals_row
    assert "fewer than 5 responses" in leaders_row
    # Groups follow their bands from low to high, not the alphabet; "not recorded" comes last.
    assert [group.key for group in breakdowns["enrollment_band"].groups] == ["small", "large", ""]
    # One middle-school principal and two leaders (no school) are hidden; together they are
    # three, which the district minus the elementary group would show: so it is hidden too.
    levels = {group.key: bool(group.hidden) for group in breakdowns["school_level"].groups}
    assert levels == {"elementary": True, "middle": True, "": True}


def test_a_large_enough_group_shows_its_figures(as_user, leader, cycle, known_answers):
    """Five more elementary and four more middle-school principals: the elementary group
    (10) shows; the middle schools (5) are hidden with the leaders (2), who would
    otherwise be the district minus the rest."""
    elementary = SchoolFactory(slug="elem-a")
    middle = SchoolFactory(slug="mid-a")
    tension = Tension.objects.get(number=1)
    for school, position in [(elementary, 1)] * 5 + [(middle, 5)] * 4:
        person = PrincipalFactory(school=school)
        response = Response(cycle=cycle, respondent=person)
        response.snapshot(person)
        response.save()
        Answer.objects.create(response=response, tension=tension, position=position)
    figures_release(cycle=cycle)
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/")
    groups = {b.segment: {g.key: g for g in b.groups} for b in page.context["d"].breakdowns}["school_level"]
    assert not groups["elementary"].hidden and groups["elementary"].size == 10
    # Elementary principals answered T1 with 1, 2, 2, 3, 4 and five times 1: median 1.
    assert groups["elementary"].cells[1].values["median"] == 1
    assert groups["middle"].hidden == "protected" and groups[""].hidden == "few"


def test_comments_only_with_five_responses_and_without_names(as_user, leader, cycle, known_answers):
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    assert "Need more coaching time." in page
    for person in known_answers:
        assert person.last_name not in page and person.username not in page


def test_comments_hidden_below_five_responses(as_user, leader, cycle):
    """Four responses, one with a comment: nothing is released, so no comment either."""
    tension = Tension.objects.get(number=1)
    for index in range(4):
        person = PrincipalFactory()
        response = Response(cycle=cycle, respondent=person)
        response.snapshot(person)
        response.save()
        Answer.objects.create(response=response, tension=tension, position=2, comment="Secret" if index == 0 else "")
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    assert "Secret" not in page
    assert "No figures are released yet" in page


def test_principal_sees_own_answers_beside_the_district(as_user, cycle, known_answers):
    principal = known_answers[0]
    page = as_user(principal).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    assert "Your position" in page
    assert as_user(principal).get(f"/surveys/{cycle.slug}/export.csv").status_code == 403


def test_dashboard_queries_do_not_grow_with_responses(
    as_user, leader, cycle, known_answers, django_assert_max_num_queries
):
    """Session, user, cycle, tensions, cycles so far, their latest releases: fixed, whatever
    the number of responses (the figures are read from the release, never recounted)."""
    client = as_user(leader)
    client.get(f"/surveys/{cycle.slug}/dashboard/")
    with django_assert_max_num_queries(7) as captured:
        client.get(f"/surveys/{cycle.slug}/dashboard/")
    few = len(captured)
    tension = Tension.objects.get(number=1)
    for _ in range(10):
        person = PrincipalFactory()
        response = Response(cycle=cycle, respondent=person)
        response.snapshot(person)
        response.save()
        Answer.objects.create(response=response, tension=tension, position=4)
    figures_release(cycle=cycle)
    with django_assert_max_num_queries(few):
        page = client.get(f"/surveys/{cycle.slug}/dashboard/")
    assert page.context["d"].respondents == 18


def test_principal_dashboard_queries_are_fixed_too(as_user, cycle, known_answers, django_assert_max_num_queries):
    """The same, plus the principal's own answers: one query."""
    client = as_user(known_answers[0])
    client.get(f"/surveys/{cycle.slug}/dashboard/")
    with django_assert_max_num_queries(8):
        client.get(f"/surveys/{cycle.slug}/dashboard/")


def test_one_principals_own_answers_never_reach_another(as_user, cycle, known_answers):
    first, second = known_answers[0], known_answers[1]
    tension = Tension.objects.get(number=1)
    Answer.objects.filter(response__respondent=second, tension=tension).update(position=5)
    mine = as_user(first).get(f"/surveys/{cycle.slug}/dashboard/").context["d"].own
    theirs = as_user(second).get(f"/surveys/{cycle.slug}/dashboard/").context["d"].own
    assert mine[1].position == 1 and theirs[1].position == 5
    assert as_user(LeaderFactory()).get(f"/surveys/{cycle.slug}/dashboard/").context["d"].own == {}
