"""Imports are idempotent and can be undone; a blank submission is not a response."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from surveys.models import Answer, Cycle, ImportBatch, Response, Tension
from surveys.services import IMPORT_COLUMNS, import_undo, response_save, responses_import
from tests.surveys.conftest import answer_form, import_csv

pytestmark = pytest.mark.django_db


FILE = import_csv(
    [
        {"role": "principal", "school_level": "middle", "q1_position": "2", "q1_comment": "Fine"},
        {"role": "principal", "school_level": "middle", "q1_position": "2", "q1_comment": "Fine"},
        {"role": "district_leader", "q7_position": "4", "q7_resources": "yes"},
    ]
)


def _upload(client, cycle, text, name="old.csv"):
    return client.post(f"/surveys/{cycle.slug}/import/", {"file": SimpleUploadedFile(name, text.encode())})


def test_importing_the_same_file_twice_adds_nothing_the_second_time(as_user, staff, cycle):
    client = as_user(staff)
    assert _upload(client, cycle, FILE).status_code == 302
    assert Response.objects.filter(cycle=cycle).count() == 3  # two identical rows are two people
    again = _upload(client, cycle, FILE)
    assert Response.objects.filter(cycle=cycle).count() == 3
    page = client.get(again.url).content.decode()
    assert "Nothing new was imported" in page and "3 rows were already imported and skipped (rows 2, 3, 4)" in page


def test_a_longer_export_of_the_same_tool_adds_only_the_new_rows(staff, cycle):
    responses_import(cycle=cycle, text=FILE)
    longer = FILE + "," + "principal,high,,,,5" + "," * (len(IMPORT_COLUMNS) - 7) + "\n"
    result = responses_import(cycle=cycle, text=longer)
    assert (result.responses, len(result.duplicates)) == (1, 3)
    assert Response.objects.filter(cycle=cycle).count() == 4


def test_blank_rows_are_not_responses_and_are_reported(cycle):
    text = import_csv([{"role": "principal", "q1_position": "3"}, {"role": "principal", "school_level": "high"}])
    result = responses_import(cycle=cycle, text=text)
    assert result.responses == 1 and result.blank == [3]
    assert "1 blank row (every item skipped) is not a response and skipped (row 3)" in result.summary(cycle)
    assert Response.objects.filter(cycle=cycle).count() == 1


def test_undoing_an_import_removes_its_responses_and_nothing_else(as_user, staff, principal, cycle):
    first = responses_import(cycle=cycle, text=FILE, filename="first.csv").batch
    assert first is not None
    other = responses_import(
        cycle=cycle, text=import_csv([{"role": "principal", "q2_position": "1"}]), filename="b.csv"
    )
    as_user(principal).post(f"/surveys/{cycle.slug}/respond/", answer_form(q3_position="4"))
    client = as_user(staff)
    page = client.get(f"/surveys/{cycle.slug}/import/").content.decode()
    assert "first.csv" in page and "b.csv" in page and "Undo this import" in page
    response = client.post(f"/surveys/{cycle.slug}/imports/{first.pk}/undo/")
    assert response.status_code == 302
    assert Response.objects.filter(cycle=cycle).count() == 2
    assert Response.objects.filter(import_batch=other.batch).count() == 1
    assert Response.objects.filter(respondent=principal).exists()
    assert not Answer.objects.filter(response__import_batch=first).exists()
    first.refresh_from_db()
    assert first.undone_at is not None and first.responses_removed == 3
    assert "3 responses removed" in client.get(response.url).content.decode()
    # Undoing twice removes nothing more; an unknown import, or one of another cycle, is a 404.
    client.post(f"/surveys/{cycle.slug}/imports/{first.pk}/undo/")
    assert Response.objects.filter(cycle=cycle).count() == 2
    assert client.post(f"/surveys/{cycle.slug}/imports/99999/undo/").status_code == 404
    earlier = cycle.opens_on.replace(year=cycle.opens_on.year - 1)
    elsewhere = Cycle.objects.create(name="Last year", slug="last-year", opens_on=earlier, closes_on=earlier)
    assert client.post(f"/surveys/{elsewhere.slug}/imports/{first.pk}/undo/").status_code == 404
    # Once undone, the same file can be imported again.
    assert responses_import(cycle=cycle, text=FILE).responses == 3


def test_an_imported_response_its_respondent_answered_again_survives_the_undo(principal, cycle):
    text = import_csv([{"respondent": principal.username, "role": "principal", "q1_position": "2"}])
    batch = responses_import(cycle=cycle, text=text).batch
    assert batch is not None
    response_save(cycle=cycle, user=principal, answers={Tension.objects.get(number=1).pk: {"position": 5}})
    assert import_undo(batch=batch, user=None) == 0
    assert Response.objects.filter(respondent=principal).exists()


def test_only_staff_see_and_undo_imports(as_user, principal, leader, cycle):
    batch = responses_import(cycle=cycle, text=FILE).batch
    assert batch is not None
    for person in (principal, leader):
        assert as_user(person).post(f"/surveys/{cycle.slug}/import/", {"undo": str(batch.pk)}).status_code == 403
    assert ImportBatch.objects.get().undone_at is None


def test_a_blank_form_is_not_a_response(as_user, principal, cycle):
    client = as_user(principal)
    response = client.post(f"/surveys/{cycle.slug}/respond/", answer_form())
    assert response.status_code == 302 and not Response.objects.exists()
    assert "nothing was saved" in client.get(response.url).content.decode()


def test_a_blank_form_after_answering_withdraws_the_response(as_user, principal, cycle):
    client = as_user(principal)
    client.post(f"/surveys/{cycle.slug}/respond/", answer_form(q1_position="2"))
    assert Response.objects.count() == 1
    client.post(f"/surveys/{cycle.slug}/respond/", answer_form())
    assert not Response.objects.exists() and not Answer.objects.exists()


def test_a_comment_alone_is_a_response(as_user, principal, cycle):
    as_user(principal).post(f"/surveys/{cycle.slug}/respond/", answer_form(q2_comment="Only a remark"))
    assert Response.objects.count() == 1


def test_the_command_reports_rows_already_imported(cycle, tmp_path):
    path = tmp_path / "old.csv"
    path.write_text(FILE)
    call_command("import_survey_responses", cycle.slug, str(path), stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_survey_responses", cycle.slug, str(path), stdout=out)
    assert "Nothing new was imported" in out.getvalue() and "3 rows were already imported" in out.getvalue()
    assert Response.objects.filter(cycle=cycle).count() == 3


@pytest.mark.parametrize("undo", ["²", "9" * 40, "-1", ""])
def test_undoing_an_import_that_cannot_exist_is_a_404(as_user, staff, cycle, undo):
    assert as_user(staff).post(f"/surveys/{cycle.slug}/imports/{undo}/undo/").status_code == 404
