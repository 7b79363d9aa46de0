import pytest
from reversion.models import Version

from practices.models import Practice, Visibility
from tests.practices.helpers import THREE_ITERATIONS, TWO_FAILURES, formset_data, practice_post

pytestmark = pytest.mark.django_db


def _edit(client, practice, **changes):
    iterations = [
        {
            "id": str(i.pk),
            "when": i.when,
            "tried": i.tried,
            "observed": i.observed,
            "changed": i.changed,
            "ORDER": str(n),
        }
        for n, i in enumerate(practice.iterations.all(), 1)
    ]
    failures = [
        {
            "id": str(f.pk),
            "tried": f.tried,
            "what_happened": f.what_happened,
            "why": f.why,
            "lesson": f.lesson,
            "ORDER": str(n),
        }
        for n, f in enumerate(practice.failures.all(), 1)
    ]
    data = practice_post(**changes)
    for key in [k for k in data if k.startswith(("iterations-", "failures-"))]:
        del data[key]
    data.update(changes.pop("_iterations", None) or formset_data("iterations", iterations, initial=len(iterations)))
    data.update(formset_data("failures", failures, initial=len(failures)))
    response = client.post(f"/practices/{practice.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:3000]


@pytest.fixture
def written(as_user, teacher):
    client = as_user(teacher)
    client.post("/practices/new/", practice_post(iterations=THREE_ITERATIONS, failures=TWO_FAILURES))
    return client, Practice.objects.get()


def test_every_edit_is_a_version_with_its_iterations_and_failures(written):
    client, practice = written
    _edit(client, practice, intent="Catch misconceptions before the quiz.")
    versions = Version.objects.get_for_object(practice)
    assert versions.count() == 2
    newest = versions.first()
    related = Version.objects.filter(revision=newest.revision).exclude(pk=newest.pk)
    assert related.count() == 5  # three iterations, two failures


def test_history_page_shows_what_changed_word_by_word(written):
    client, practice = written
    _edit(client, practice, intent="Catch misconceptions before the quiz.")
    page = client.get(f"/practices/{practice.pk}/history/").content.decode()
    assert "Intent" in page
    intent = page[page.find("<h3>Intent") :]
    assert '[removed: </span>same day.<span class="visually-hidden">]</span></del>' in intent
    assert '[added: </span>quiz.<span class="visually-hidden">]</span></ins>' in intent
    assert "Edited by Tamika Robinson" in page


def test_history_shows_removed_iterations(written):
    client, practice = written
    rows = list(practice.iterations.all())
    iterations = [
        {"id": str(i.pk), "when": i.when, "tried": i.tried, "ORDER": str(n), **({"DELETE": "on"} if n == 3 else {})}
        for n, i in enumerate(rows, 1)
    ]
    _edit(client, practice, _iterations=formset_data("iterations", iterations, initial=3))
    page = client.get(f"/practices/{practice.pk}/history/").content.decode()
    assert "Iteration removed: “Self-sorting”" in page


def test_restore_brings_back_text_iterations_and_failures_as_a_new_version(written):
    client, practice = written
    original_version = Version.objects.get_for_object(practice).first()
    rows = list(practice.iterations.all())
    iterations = [{"id": str(rows[0].pk), "when": "Sept", "tried": "Changed", "ORDER": "1"}] + [
        {"id": str(i.pk), "when": i.when, "tried": i.tried, "ORDER": str(n), "DELETE": "on"}
        for n, i in enumerate(rows[1:], 2)
    ]
    _edit(client, practice, title="Renamed", _iterations=formset_data("iterations", iterations, initial=3))
    practice.refresh_from_db()
    assert practice.title == "Renamed" and practice.iterations.count() == 1

    response = client.post(f"/practices/{practice.pk}/history/{original_version.pk}/restore/")
    assert response.status_code == 302
    practice.refresh_from_db()
    assert practice.title == "Exit tickets"
    assert [i.tried for i in practice.iterations.all()] == ["Five questions, graded", "Two piles", "Self-sorting"]
    assert practice.failures.count() == 2
    assert sorted(t.name for t in practice.tags.all()) == ["formative assessment", "math"]
    assert "zebrafish" in practice.search_document
    assert Version.objects.get_for_object(practice).count() == 3
    assert "Restored the version of" in client.get(f"/practices/{practice.pk}/history/").content.decode()


def test_restore_keeps_the_current_audience_and_anonymity(written):
    client, practice = written
    first = Version.objects.get_for_object(practice).first()
    _edit(client, practice, visibility="school", anonymous="on")
    client.post(f"/practices/{practice.pk}/history/{first.pk}/restore/")
    practice.refresh_from_db()
    assert practice.visibility == Visibility.SCHOOL and practice.anonymous is True


def test_restore_refuses_a_version_of_another_practice(written, as_user, teacher):
    client, practice = written
    client.post("/practices/new/", practice_post(title="Second"))
    other = Practice.objects.get(title="Second")
    foreign = Version.objects.get_for_object(other).first()
    assert client.post(f"/practices/{practice.pk}/history/{foreign.pk}/restore/").status_code == 404
