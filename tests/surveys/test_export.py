"""export.csv: the anonymised answers of the closing release, k-anonymous as written."""

import csv
import io
from collections import Counter
from typing import Any

import pytest

from portal.models import Locale, SchoolLevel
from surveys.stats import SEGMENTS, chained, generalise
from tests.factories import LeaderFactory, PrincipalFactory, SchoolFactory
from tests.surveys.conftest import add_response, close

pytestmark = pytest.mark.django_db


def _export(client, cycle) -> list[dict]:
    text = client.get(f"/surveys/{cycle.slug}/export.csv").content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def leaders_with_comments(cycle):
    """Ten principals at two kinds of school and three district leaders (no school), who commented."""
    city = SchoolFactory(
        slug="city-elem", level=SchoolLevel.ELEMENTARY, enrollment=250, frl_percent=80, locale=Locale.CITY
    )
    town = SchoolFactory(slug="town-mid", level=SchoolLevel.MIDDLE, enrollment=700, frl_percent=20, locale=Locale.TOWN)
    for index in range(10):
        add_response(cycle, person=PrincipalFactory(school=city if index < 7 else town))
    for index in range(3):
        add_response(cycle, person=LeaderFactory(), answers={1: (5, True, "high", f"Leader remark {index}")})
    close(cycle)


def test_every_combination_as_written_covers_five_rows(as_user, leader, cycle, leaders_with_comments):
    rows = _export(as_user(leader), cycle)
    assert len(rows) == 13
    combos = Counter(tuple(row[s] for s in SEGMENTS) for row in rows)
    assert min(combos.values()) >= 5
    # Blank (not recorded) and generalised values are one and the same value in the file.
    assert all(row[s] for row in rows for s in SEGMENTS)
    assert {row["school_level"] for row in rows} <= {"elementary", "middle", "suppressed"}


def test_the_export_has_no_comments(as_user, leader, cycle, leaders_with_comments):
    text = as_user(leader).get(f"/surveys/{cycle.slug}/export.csv").content.decode("utf-8-sig")
    assert "Leader remark" not in text and "comment" not in text.splitlines()[0]


def test_no_answers_are_exported_while_the_cycle_is_open(as_user, leader, cycle, known_answers):
    response = as_user(leader).get(f"/surveys/{cycle.slug}/export.csv")
    assert response.status_code == 200
    assert list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")))) == [
        [*SEGMENTS, *(f"q{k}_{p}" for k in range(1, 8) for p in ("position", "resources", "priority"))]
    ]
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    assert "Download anonymised answers" not in page and "once the cycle closes" in page


def test_rare_values_are_hidden_for_every_row_that_has_them():
    """One K-12 principal: "k12" is hidden, and so is the next rarest level it must join."""
    levels = ["elementary"] * 6 + ["middle"] * 5 + ["k12"]
    rows = [{"id": n, "role": "principal", "school_level": level, "items": {}} for n, level in enumerate(levels)]
    for row in rows:
        row.update(enrollment_band="small", frl_band="low", locale="city")
    generalised = generalise(rows)
    assert generalised == frozenset({("school_level", "k12"), ("school_level", "middle")})


def test_new_rows_since_the_last_file_are_k_anonymous_among_themselves():
    rows: list[dict[str, Any]] = [
        {"id": n, "role": "principal" if n < 10 else "district_leader", "school_level": "", "enrollment_band": "",
         "frl_band": "", "locale": "", "items": {}}
        for n in range(15)
    ]  # fmt: skip
    # Ten principals were in the last file; five new rows are four leaders and a principal:
    # role would pick out the one new principal, so role is generalised.
    new = [row for row in rows if row["id"] >= 9 and row["id"] != 10]
    everyone, since = generalise(rows), generalise(rows, new)
    assert everyone is not None and since is not None
    assert ("role", "principal") not in everyone
    assert ("role", "principal") in since or ("role", "district_leader") in since


def test_a_later_file_generalises_comparably_with_every_earlier_one():
    earlier = [frozenset({("locale", "town")})]
    choice = chained(frozenset({("locale", "rural")}), earlier)
    assert all(choice <= other or choice >= other for other in earlier)
    assert chained(frozenset(), earlier) == frozenset()
