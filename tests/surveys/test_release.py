"""Figures are released in batches: comparing two downloads never shows fewer than 5 people."""

import csv
import io
import json
import threading
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from surveys.models import Cycle, Release, Response, Tension
from surveys.services import figures_release, response_save
from tests.factories import LeaderFactory, PrincipalFactory
from tests.surveys.conftest import add_response, answer_form, close, ensure_tensions

pytestmark = pytest.mark.django_db


def _summary(client, cycle) -> list[dict]:
    response = client.get(f"/surveys/{cycle.slug}/summary.csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _answer(client, cycle, **answers):
    return client.post(f"/surveys/{cycle.slug}/respond/", answer_form(**answers))


def test_one_new_response_changes_no_download_and_no_page(
    as_user, leader, cycle, known_answers, django_capture_on_commit_callbacks
):
    before_summary = _summary(as_user(leader), cycle)
    before_page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").context["d"]
    newcomer = PrincipalFactory()
    with django_capture_on_commit_callbacks(execute=True):  # whatever runs after the answer is saved
        answered = _answer(as_user(newcomer), cycle, q1_position="5", q2_position="1", q7_position="5")
    assert answered.status_code == 302
    after = as_user(leader)
    assert _summary(after, cycle) == before_summary
    page = after.get(f"/surveys/{cycle.slug}/dashboard/").context["d"]
    assert page.respondents == before_page.respondents == 8
    assert {n: f.values for n, f in page.district.items()} == {n: f.values for n, f in before_page.district.items()}


def test_five_new_responses_make_the_next_release(as_user, leader, cycle, known_answers):
    for _ in range(5):
        _answer(as_user(PrincipalFactory()), cycle, q1_position="5")
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/")
    assert page.context["d"].respondents == 13
    assert "Figures as of the 2nd release, 13 responses" in page.content.decode()
    assert _summary(as_user(leader), cycle)[0]["n"] == "11"


def test_the_page_names_its_release_and_no_time(as_user, leader, cycle, known_answers):
    html = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    assert "Figures as of the 1st release, 8 responses" in html
    assert "Figures as of " + "0" not in html and "recounted" not in html
    release = Release.objects.get(cycle=cycle)
    assert release.created_at.strftime("%H:%M") not in html


def test_edits_do_not_make_a_release(as_user, leader, cycle, known_answers, django_capture_on_commit_callbacks):
    """Four people change their answers and one more answers: still the first release, so
    the newcomer's answers cannot be read off as the difference."""
    before = _summary(as_user(leader), cycle)
    with django_capture_on_commit_callbacks(execute=True):
        for person in known_answers[:4]:
            _answer(as_user(person), cycle, q1_position="1", q2_position="1")
        _answer(as_user(PrincipalFactory()), cycle, q1_position="5", q2_position="5")
    assert _summary(as_user(leader), cycle) == before
    assert Release.objects.filter(cycle=cycle).count() == 1


def test_a_tension_only_one_of_a_batch_answered_stays_hidden(as_user, leader, cycle, known_answers):
    """Five new responses, but only one answers tension 3 (which had 6 answers): tension
    3's figures would move by that one answer, so they are hidden in the new release."""
    add_response(cycle, answers={1: (2, None, None, ""), 3: (2, None, None, "")})
    add_response(cycle, answers={1: (2, None, None, ""), 3: (2, None, None, "")})
    figures_release(cycle=cycle)  # the fixture's 8 plus these 2: not yet a batch of 5
    for _ in range(3):
        add_response(cycle, answers={1: (3, None, None, "")})
    figures_release(cycle=cycle)
    first = _summary(as_user(leader), cycle)
    assert first[2]["n"] == "6"  # tension 3: the fixture's four and two more
    for _ in range(4):
        _answer(as_user(PrincipalFactory()), cycle, q1_position="4")
    _answer(as_user(PrincipalFactory()), cycle, q1_position="4", q3_position="5")
    second = _summary(as_user(leader), cycle)
    assert second[0]["n"] != first[0]["n"]  # tension 1 moved by five answers: shown
    assert second[2]["n"] == "" and second[2]["suppressed"] == "yes"
    assert "not shown, so that a smaller group cannot be worked out from the totals" in second[2]["suppressed_reason"]
    assert second[2]["median"] == "" and second[2]["lean_right_pct"] == ""


def test_a_group_that_gained_one_member_in_a_batch_is_hidden(as_user, leader, cycle):
    for _ in range(6):
        add_response(cycle, person=LeaderFactory(), answers={1: (1, None, None, "")})
    for _ in range(6):
        add_response(cycle, answers={1: (3, None, None, "")})
    figures_release(cycle=cycle)
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").context["d"]
    leaders = next(g for b in page.breakdowns if b.segment == "role" for g in b.groups if g.key == "district_leader")
    assert not leaders.hidden and leaders.cells[1].values["median"] == 1
    # One leader and four principals arrive: the leaders' tension 1 would move by one answer.
    _answer(as_user(LeaderFactory()), cycle, q1_position="5")
    for _ in range(4):
        _answer(as_user(PrincipalFactory()), cycle, q1_position="3")
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").context["d"]
    assert page.respondents == 17
    leaders = next(g for b in page.breakdowns if b.segment == "role" for g in b.groups if g.key == "district_leader")
    assert leaders.size == 7 and leaders.cells[1].suppressed and "median" not in leaders.cells[1].values


def test_a_closed_cycle_shows_its_final_release_without_the_last_few(as_user, leader, cycle, known_answers):
    """Two responses after the last batch are never released: comparing would show them."""
    before = _summary(as_user(leader), cycle)
    for _ in range(2):
        _answer(as_user(PrincipalFactory()), cycle, q1_position="5")
    close(cycle)
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/")
    assert "Final figures: the 2nd release, 8 responses" in page.content.decode()
    assert _summary(as_user(leader), cycle) == before
    assert Response.objects.filter(cycle=cycle).count() == 10


def test_a_closed_cycle_counts_a_last_batch_of_five(as_user, leader, cycle, known_answers):
    for _ in range(5):
        add_response(cycle)
    close(cycle)
    page = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").context["d"]
    assert page.release.closing and page.respondents == 13


def test_the_district_dashboard_says_what_the_release_says(as_user, leader, cycle, known_answers):
    for _ in range(4):
        add_response(cycle, answers={7: (5, None, None, "")})
    figures_release(cycle=cycle)
    assert as_user(leader).get("/dashboard/").context["d"].say.suppressed  # 4 answers to tension 7: none released
    add_response(cycle, answers={7: (5, None, None, "")})
    cache.clear()
    say = as_user(leader).get("/dashboard/").context["d"].say
    assert say.suppressed  # the fifth is not released yet
    figures_release(cycle=cycle)
    cache.clear()
    say = as_user(leader).get("/dashboard/").context["d"].say
    assert not say.suppressed and say.values["n"] == 5


def test_export_content_reads_the_release(tmp_path, cycle, known_answers):
    add_response(cycle)
    out = tmp_path / "content.json"
    call_command("export_content", str(out))
    survey = json.loads(out.read_text())["survey_cycles"][0]
    assert survey["responses"] == 8


def test_the_trend_reads_each_cycles_release(as_user, leader, cycle, known_answers):
    add_response(cycle)
    trend = as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").context["d"].trend
    assert [row.responses for row in trend] == [8]


def test_a_comment_waits_for_the_next_release(as_user, leader, cycle, known_answers):
    _answer(as_user(PrincipalFactory()), cycle, q1_position="3", q1_comment="Brand new remark")
    assert "Brand new remark" not in as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()
    for _ in range(4):
        _answer(as_user(PrincipalFactory()), cycle, q1_position="3")
    assert "Brand new remark" in as_user(leader).get(f"/surveys/{cycle.slug}/dashboard/").content.decode()


def test_release_command_makes_closing_releases(cycle, known_answers):
    close(cycle)
    out = io.StringIO()
    call_command("release_survey_figures", stdout=out)
    assert "closing release 2, 8 responses" in out.getvalue()
    assert Release.objects.filter(cycle=cycle, closing=True).count() == 1
    call_command("release_survey_figures", stdout=io.StringIO())
    assert Release.objects.filter(cycle=cycle).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_answers_make_one_release_per_batch_and_count_everyone():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writes are checked on PostgreSQL")
    ensure_tensions()
    today = timezone.localdate()
    cycle = Cycle.objects.create(name="C", slug="c", opens_on=today, closes_on=today + timedelta(days=3))
    tension = Tension.objects.get(number=1)
    people = [PrincipalFactory() for _ in range(10)]
    barrier = threading.Barrier(10)
    errors = []

    def submit(person):
        try:
            barrier.wait()
            response_save(cycle=cycle, user=person, answers={tension.pk: {"position": 3}})
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    releases = list(Release.objects.filter(cycle=cycle).order_by("number").values_list("number", "responses"))
    assert releases == [(1, 5), (2, 10)]
