"""Extra iteration and failure rows left empty never block a save; a problem in a row names the row."""

import pytest

from practices.models import Practice
from tests.practices.helpers import THREE_ITERATIONS, formset_data, practice_post

pytestmark = pytest.mark.django_db

BLANK_ITERATION = {"when": "", "tried": "", "observed": "", "changed": ""}
BLANK_FAILURE = {"tried": "", "what_happened": "", "why": "", "lesson": ""}


def test_blank_rows_numbered_by_the_script_are_ignored(as_user, teacher):
    """The page's script writes a position into every row it adds, blank or not."""
    data = practice_post(
        iterations=[*THREE_ITERATIONS, {**BLANK_ITERATION, "ORDER": "4"}],
        failures=[{**BLANK_FAILURE, "ORDER": "1"}, {**BLANK_FAILURE, "ORDER": "2"}],
    )
    response = as_user(teacher).post("/practices/new/", data)
    assert response.status_code == 302
    practice = Practice.objects.get()
    assert [row.when for row in practice.iterations.all()] == ["September", "October", "January"]
    assert practice.failures.count() == 0
    assert (practice.iteration_count, practice.failure_count) == (3, 0)


def test_blank_rows_added_without_javascript_are_ignored(as_user, teacher):
    """Without the script, "Add another" posts the form back with an empty row and no position."""
    client = as_user(teacher)
    added = client.post("/practices/new/", practice_post(iterations=THREE_ITERATIONS, action="add_iterations"))
    assert 'name="iterations-TOTAL_FORMS" value="4"' in added.content.decode()
    data = practice_post(iterations=[*THREE_ITERATIONS, BLANK_ITERATION], failures=[BLANK_FAILURE])
    assert client.post("/practices/new/", data).status_code == 302
    assert Practice.objects.get().iterations.count() == 3


def test_rows_of_spaces_count_as_blank(as_user, teacher):
    data = practice_post(failures=[{"tried": "   ", "what_happened": "\n", "why": "", "lesson": " ", "ORDER": "1"}])
    assert as_user(teacher).post("/practices/new/", data).status_code == 302
    assert Practice.objects.get().failures.count() == 0


def test_a_half_written_row_names_the_row_and_the_missing_field(as_user, teacher):
    data = practice_post(
        iterations=[THREE_ITERATIONS[0], {**BLANK_ITERATION, "observed": "The piles were uneven", "ORDER": "2"}],
        failures=[{**BLANK_FAILURE, "ORDER": "1"}, {**BLANK_FAILURE, "why": "Too slow", "ORDER": "2"}],
    )
    response = as_user(teacher).post("/practices/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'href="#id_iterations-1-tried">Iteration 2: what we tried is missing.</a>' in page
    assert 'href="#id_failures-1-tried">Failure 2: what we tried is missing.</a>' in page
    # Next to the field too, and what was typed comes back.
    assert "What we tried is missing." in page
    assert "The piles were uneven" in page and "Too slow" in page
    assert not Practice.objects.exists()


def test_a_saved_row_emptied_of_everything_is_removed(as_user, teacher):
    client = as_user(teacher)
    client.post("/practices/new/", practice_post(iterations=THREE_ITERATIONS))
    practice = Practice.objects.get()
    rows = list(practice.iterations.all())
    edited = [
        {"id": str(rows[0].pk), **BLANK_ITERATION, "ORDER": "1"},
        {"id": str(rows[1].pk), "when": "October", "tried": "Two piles", "ORDER": "2"},
        {"id": str(rows[2].pk), "when": "January", "tried": "Self-sorting", "ORDER": "3"},
    ]
    data = practice_post()
    data.update(formset_data("iterations", edited, initial=3))
    response = client.post(f"/practices/{practice.pk}/edit/", data)
    assert response.status_code == 302
    practice.refresh_from_db()
    assert [row.when for row in practice.iterations.all()] == ["October", "January"]
    assert practice.iteration_count == 2
