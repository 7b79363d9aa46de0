import csv
import io
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.utils import timezone

from portal.lib.csvfile import CsvError
from portal.models import Locale, Role, SchoolLevel
from surveys.models import Answer, Cycle, Priority, Response, Tension
from surveys.services import response_save, responses_import
from tests.factories import PrincipalFactory
from tests.surveys.conftest import ensure_tensions, import_csv

pytestmark = pytest.mark.django_db


def _form(**answers):
    data = {}
    for k in range(1, 8):
        data.update({f"q{k}_position": "", f"q{k}_resources": "", f"q{k}_priority": "", f"q{k}_comment": ""})
    data.update(answers)
    return data


def test_answer_skip_and_edit_until_the_cycle_closes(as_user, principal, cycle):
    client = as_user(principal)
    response = client.post(
        f"/surveys/{cycle.slug}/respond/",
        _form(q1_position="2", q1_resources="yes", q1_priority="high", q1_comment="Tight on curriculum"),
    )
    assert response.status_code == 302
    saved = Response.objects.get()
    assert (saved.role, saved.school_level, saved.enrollment_band, saved.frl_band, saved.locale) == (
        Role.PRINCIPAL,
        SchoolLevel.ELEMENTARY,
        "medium",
        "mid_high",
        Locale.CITY,
    )
    answer = Answer.objects.get(tension__number=1)
    assert (answer.position, answer.dedicated_resources, answer.priority, answer.comment) == (
        2,
        True,
        Priority.HIGH,
        "Tight on curriculum",
    )
    assert Answer.objects.get(tension__number=2).position is None
    page = client.get(f"/surveys/{cycle.slug}/respond/").content.decode()
    # The saved answer comes back chosen.
    assert '<input type="radio" name="q1_position" value="2" id="id_q1_position_1" checked>' in page
    client.post(f"/surveys/{cycle.slug}/respond/", _form(q1_position="4"))
    assert Response.objects.count() == 1
    assert Answer.objects.get(tension__number=1).position == 4
    cycle.closes_on = timezone.localdate() - timedelta(days=1)
    cycle.save()
    closed = client.post(f"/surveys/{cycle.slug}/respond/", _form(q1_position="5"))
    assert closed.status_code == 302
    assert Answer.objects.get(tension__number=1).position == 4


def test_a_bad_value_keeps_what_was_typed(as_user, principal, cycle):
    response = as_user(principal).post(f"/surveys/{cycle.slug}/respond/", _form(q1_position="9", q2_comment="Keep me"))
    assert response.status_code == 400
    assert "Keep me" in response.content.decode()
    assert not Response.objects.exists()


def test_double_submit_leaves_one_response(principal, cycle):
    answers = {Tension.objects.get(number=1).pk: {"position": 3}}
    response_save(cycle=cycle, user=principal, answers=answers)
    response_save(cycle=cycle, user=principal, answers=answers)
    assert Response.objects.filter(cycle=cycle, respondent=principal).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_leave_one_response_and_no_error():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writes are checked on PostgreSQL")
    today = timezone.localdate()
    cycle = Cycle.objects.create(name="C", slug="c", opens_on=today, closes_on=today)
    ensure_tensions()
    tension = Tension.objects.get(number=1)
    person = PrincipalFactory()
    errors = []
    barrier = threading.Barrier(10)

    def submit(position):
        try:
            barrier.wait()
            response_save(
                cycle=cycle,
                user=person,
                answers={
                    tension.pk: {"position": position, "dedicated_resources": None, "priority": None, "comment": ""}
                },
            )
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(1 + n % 5,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert Response.objects.filter(cycle=cycle, respondent=person).count() == 1
    assert Answer.objects.filter(response__cycle=cycle).count() == 1


def test_import_brings_in_earlier_results(cycle, principal):
    text = import_csv([
        {"respondent": principal.username, "role": "principal", "school_level": "elementary", "q1_position": "2", "q1_resources": "yes", "q1_priority": "high", "q1_comment": "Ok"},
        {"role": "district_leader", "q7_position": "1", "q7_resources": "No"},
    ])  # fmt: skip
    result = responses_import(cycle=cycle, text=text)
    assert (result.responses, result.answers) == (2, 2)
    anonymous = Response.objects.get(respondent=None)
    assert anonymous.imported and anonymous.role == Role.DISTRICT_LEADER
    assert Answer.objects.get(response=anonymous).dedicated_resources is False


def test_import_is_all_or_nothing_with_errors_naming_row_and_column(cycle, principal):
    text = import_csv([
        {"respondent": principal.username, "role": "principal", "q1_position": "2"},
        {"role": "principal", "q3_position": "6"},
        {"role": "", "q2_priority": "urgent"},
        {"respondent": "nobody", "role": "principal", "q2_position": "1"},
    ])  # fmt: skip
    with pytest.raises(CsvError) as caught:
        responses_import(cycle=cycle, text=text, filename="old.csv")
    assert [str(e) for e in caught.value.errors] == [
        "old.csv row 3, column q3_position: '6' must be a whole number from 1 to 5, or blank",
        "old.csv row 4, column q2_priority: 'urgent' must be low, medium, high or blank",
        "old.csv row 4, column role: is required",
        "old.csv row 5, column respondent: no person with username 'nobody'",
    ]
    assert not Response.objects.exists()


def test_import_refuses_a_second_response_for_the_same_person(cycle, principal):
    response_save(cycle=cycle, user=principal, answers={Tension.objects.get(number=1).pk: {"position": 3}})
    with pytest.raises(CsvError, match="already has a response"):
        responses_import(
            cycle=cycle, text=import_csv([{"respondent": principal.username, "role": "principal", "q1_position": "2"}])
        )


def test_import_command_and_staff_upload(cycle, tmp_path, as_user, staff):
    path = tmp_path / "old.csv"
    path.write_text(import_csv([{"role": "principal", "q1_position": "3"}]))
    call_command("import_survey_responses", cycle.slug, str(path))
    assert Response.objects.count() == 1
    path.write_text(import_csv([{"role": "principal", "q1_position": "x"}]))
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_survey_responses", cycle.slug, str(path))
    client = as_user(staff)
    bad = client.post(
        f"/surveys/{cycle.slug}/import/", {"file": SimpleUploadedFile("f.csv", import_csv([{"role": "boss"}]).encode())}
    )
    assert bad.status_code == 400 and "f.csv row 2, column role" in bad.content.decode()
    good = client.post(
        f"/surveys/{cycle.slug}/import/",
        {"file": SimpleUploadedFile("f.csv", import_csv([{"role": "principal", "q1_position": "4"}]).encode())},
    )
    assert good.status_code == 302 and Response.objects.count() == 2


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_a_file_saved_with_semicolons_or_tabs_imports_as_with_commas(as_user, staff, cycle, principal, delimiter):
    rows = [
        {"respondent": principal.username, "role": "principal", "q1_position": "2", "q1_comment": "Yes, a; b"},
        {"role": "district_leader", "q7_resources": "no", "q7_priority": "high"},
    ]
    text = import_csv(rows, delimiter=delimiter)
    response = as_user(staff).post(
        f"/surveys/{cycle.slug}/import/", {"file": SimpleUploadedFile("f.csv", ("\ufeff" + text).encode())}
    )
    assert response.status_code == 302
    answer = Answer.objects.get(response__respondent=principal)
    assert (answer.position, answer.comment) == (2, "Yes, a; b")
    assert Answer.objects.get(response__respondent=None).priority == Priority.HIGH
    bad = import_csv([{"role": "principal", "q3_position": "6"}], delimiter=delimiter)
    with pytest.raises(CsvError) as caught:
        responses_import(cycle=cycle, text=bad, filename="bad.csv")
    assert [str(error) for error in caught.value.errors] == [
        "bad.csv row 2, column q3_position: '6' must be a whole number from 1 to 5, or blank"
    ]


def test_the_command_reads_a_tab_separated_file(cycle, tmp_path):
    path = tmp_path / "old.tsv"
    path.write_text(import_csv([{"role": "principal", "q1_position": "3"}], delimiter="\t"))
    call_command("import_survey_responses", cycle.slug, str(path), stdout=io.StringIO())
    assert Answer.objects.get(response__cycle=cycle).position == 3


def test_export_has_no_names_and_generalises_small_groups(as_user, leader, cycle, known_answers):
    cycle.closes_on = timezone.localdate() - timedelta(days=1)
    cycle.save()
    text = as_user(leader).get(f"/surveys/{cycle.slug}/export.csv").content.decode("utf-8-sig")
    for person in known_answers:
        assert person.username not in text and person.last_name not in text and person.email not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 8
    assert "respondent" not in rows[0]
    combos: dict[tuple, int] = {}
    for row in rows:
        key = tuple(row[s] for s in ["role", "school_level", "enrollment_band", "frl_band", "locale"])
        combos[key] = combos.get(key, 0) + 1
    assert min(combos.values()) >= 5
    assert sorted(int(r["q2_position"]) for r in rows) == [3, 3, 3, 3, 3, 3, 3, 4]


def test_export_of_a_cycle_with_fewer_than_five_responses_is_empty(as_user, leader, cycle, principal):
    response_save(cycle=cycle, user=principal, answers={Tension.objects.get(number=1).pk: {"position": 3}})
    cycle.closes_on = timezone.localdate() - timedelta(days=1)
    cycle.save()
    rows = list(
        csv.DictReader(
            io.StringIO(as_user(leader).get(f"/surveys/{cycle.slug}/export.csv").content.decode("utf-8-sig"))
        )
    )
    assert rows == []
