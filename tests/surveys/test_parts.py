"""A share is shown only when at least 5 answers to its part stand behind it."""

import csv
import io

import pytest

from surveys.services import figures_release
from surveys.stats import release_figures
from tests.surveys.conftest import add_response

pytestmark = pytest.mark.django_db


def test_a_resources_share_over_four_answers_is_hidden(as_user, leader, cycle):
    """Six positions but only four yes/no answers about resources: the resources share is hidden."""
    for index in range(6):
        add_response(cycle, answers={1: (3, True if index < 4 else None, "high", "")})
    figures_release(cycle=cycle)
    rows = list(
        csv.DictReader(
            io.StringIO(as_user(leader).get(f"/surveys/{cycle.slug}/summary.csv").content.decode("utf-8-sig"))
        )
    )
    assert rows[0]["n"] == "6" and rows[0]["high_priority_pct"] == "100"
    assert rows[0]["resources_pct"] == "" and rows[0]["suppressed_figures"] == "resources_pct"
    assert rows[0]["suppressed_reason"] == "fewer than 5 responses"
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    row = page[page.index('<th scope="row">1. ') :]
    assert "100%" in row[: row.index("</tr>")]


def _row(rid, role, position=None, resources=None, priority=None):
    return {
        "id": rid,
        "role": role,
        "school_level": "",
        "enrollment_band": "",
        "frl_band": "",
        "locale": "",
        "items": {"1": [position, resources, priority, ""]},
    }


def test_a_groups_part_with_fewer_than_five_answers_is_hidden_with_its_complement():
    """Principals (6) and leaders (6) both show; leaders answered resources 3 times, so
    their resources share is hidden, and the principals' too (district minus principals
    would give the leaders' share)."""
    rows = [_row(n, "principal", 3, True, "low") for n in range(6)]
    rows += [_row(10 + n, "district_leader", 2, n < 3 or None, "high") for n in range(6)]
    for row in rows[6:]:
        if row["items"]["1"][1] is None:
            row["items"]["1"][1] = None
    figures = release_figures(rows, [1], number=1).figures
    role = {group["key"]: group for group in figures["groups"]["role"]}
    assert role["district_leader"]["cells"]["1"]["hidden"] == {"resources": "few"}
    assert role["principal"]["cells"]["1"]["hidden"] == {"resources": "protected"}
    assert role["principal"]["cells"]["1"]["values"]["high_priority_pct"] == 0
    assert figures["district"]["1"]["values"]["resources_pct"] == 100


def test_the_trend_hides_a_part_with_fewer_than_five_answers(as_user, leader, cycle):
    for index in range(5):
        add_response(cycle, answers={1: (3, None, "high" if index < 2 else None, "")})
    figures_release(cycle=cycle)
    trend = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").context["d"].trend
    cells = trend[0].cells
    assert not cells[1].suppressed and cells[1].value("high_priority_pct") is None
    assert cells[1].hidden["priority"] == "few"
