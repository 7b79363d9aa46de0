import pytest
from django.contrib.admin.sites import site
from django.db import IntegrityError, transaction

from practices.models import Practice, Status, Visibility
from tests.factories import PracticeFactory, TeacherFactory
from tests.practices.helpers import THREE_ITERATIONS, TWO_FAILURES, formset_data, practice_post

pytestmark = pytest.mark.django_db


def _publish_school_only(client) -> Practice:
    response = client.post(
        "/practices/new/",
        practice_post(visibility="school", iterations=THREE_ITERATIONS, failures=TWO_FAILURES),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Practice.objects.get()


def test_teacher_writes_an_entry_with_iterations_and_failures_in_one_form(as_user, teacher):
    practice = _publish_school_only(as_user(teacher))
    assert practice.status == Status.PUBLISHED and practice.published_at is not None
    assert (practice.author, practice.school, practice.visibility) == (teacher, teacher.school, Visibility.SCHOOL)
    assert [i.when for i in practice.iterations.all()] == ["September", "October", "January"]
    assert [f.tried for f in practice.failures.all()] == ["Grading the tickets", "Digital forms"]
    assert sorted(t.name for t in practice.tags.all()) == ["formative assessment", "math"]


def test_school_only_entry_is_hidden_from_another_school(as_user, teacher, other_teacher, principal, client):
    practice = _publish_school_only(as_user(teacher))
    client.force_login(other_teacher)
    assert "Exit tickets" not in client.get("/practices/").content.decode()
    assert "Exit tickets" not in client.get("/practices/", {"q": "zebrafish"}).content.decode()
    for path in ["", "history/", "edit/", "adapt/"]:
        assert client.get(f"/practices/{practice.pk}/{path}").status_code == 404, path
    attachment = practice.attachments.create(
        file="x.pdf", original_name="x.pdf", content_type="application/pdf", size=1, uploaded_by=teacher
    )
    assert client.get(f"/practices/{practice.pk}/attachments/{attachment.pk}/").status_code == 404
    assert client.post(f"/practices/{practice.pk}/adopt/", {"adoption-status": "trying"}).status_code == 404

    client.force_login(principal)
    assert "Exit tickets" in client.get("/practices/").content.decode()
    assert "Exit tickets" in client.get("/practices/", {"q": "zebrafish"}).content.decode()
    assert client.get(f"/practices/{practice.pk}/").status_code == 200
    assert client.get(f"/practices/{practice.pk}/history/").status_code == 200


def test_staff_see_everything_including_drafts(as_user, teacher, staff):
    draft = PracticeFactory(author=teacher, status=Status.DRAFT, published_at=None)
    assert as_user(staff).get(f"/practices/{draft.pk}/").status_code == 200


def test_drafts_are_only_for_their_author(as_user, teacher, principal):
    draft = PracticeFactory(author=teacher, status=Status.DRAFT, published_at=None, visibility=Visibility.SCHOOL)
    assert as_user(principal).get(f"/practices/{draft.pk}/").status_code == 404
    assert as_user(teacher).get(f"/practices/{draft.pk}/").status_code == 200


def test_saving_a_draft_needs_only_a_title(as_user, teacher):
    response = as_user(teacher).post(
        "/practices/new/", practice_post(action="draft", summary="", description="", intent="")
    )
    assert response.status_code == 302
    assert Practice.objects.get().status == Status.DRAFT


def test_publishing_needs_summary_practice_and_intent(as_user, teacher):
    response = as_user(teacher).post("/practices/new/", practice_post(summary="", intent=""))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_summary_error"' in page and 'id="id_intent_error"' in page
    assert 'id="id_description_error"' not in page
    assert "Needed to publish. You can save a draft without it." in page
    assert not Practice.objects.exists()


def test_editing_keeps_rows_reorders_and_removes(as_user, teacher):
    client = as_user(teacher)
    practice = _publish_school_only(client)
    rows = list(practice.iterations.all())
    edited = [
        {
            "id": str(rows[0].pk),
            "when": "September",
            "tried": "Five questions, graded",
            "observed": "",
            "changed": "",
            "ORDER": "3",
        },
        {"id": str(rows[1].pk), "when": "October", "tried": "Two piles", "observed": "", "changed": "", "ORDER": "1"},
        {
            "id": str(rows[2].pk),
            "when": "January",
            "tried": "Self-sorting",
            "observed": "",
            "changed": "",
            "ORDER": "2",
            "DELETE": "on",
        },
    ]
    data = practice_post(visibility="school")
    data.update({k: v for k, v in _formset(edited, initial=3).items()})
    data.update(_failures_kept(practice))
    response = client.post(f"/practices/{practice.pk}/edit/", data)
    assert response.status_code == 302
    assert [i.when for i in practice.iterations.all()] == ["October", "September"]


def _formset(rows, initial):
    return formset_data("iterations", rows, initial=initial)


def _failures_kept(practice):
    rows = [{"id": str(f.pk), "tried": f.tried, "ORDER": str(n)} for n, f in enumerate(practice.failures.all(), 1)]
    return formset_data("failures", rows, initial=len(rows))


def test_add_another_row_without_javascript_keeps_everything(as_user, teacher):
    data = practice_post(iterations=THREE_ITERATIONS, action="add_iterations")
    response = as_user(teacher).post("/practices/new/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="iterations-TOTAL_FORMS" value="4"' in page
    assert "Self-sorting" in page and not Practice.objects.exists()


def test_my_practices_lists_my_entries_in_every_state(as_user, teacher):
    PracticeFactory(author=teacher, title="Published one")
    PracticeFactory(author=teacher, title="Draft one", status=Status.DRAFT, published_at=None)
    PracticeFactory(author=TeacherFactory(school=teacher.school), title="Someone else's")
    page = as_user(teacher).get("/practices/mine/").content.decode()
    assert "Published one" in page and "Draft one" in page and "Someone else" not in page


def test_a_published_entry_always_has_a_publication_date(teacher):
    practice = PracticeFactory(author=teacher)
    with pytest.raises(IntegrityError), transaction.atomic():
        Practice.objects.filter(pk=practice.pk).update(published_at=None)
    # published() says so, which lets a walk down the published_at index skip undated rows.
    assert '"published_at" IS NOT NULL' in str(Practice.objects.published().query)


def test_a_draft_can_still_be_archived_without_a_date(as_user, teacher):
    draft = PracticeFactory(author=teacher, status=Status.DRAFT, published_at=None)
    response = as_user(teacher).post(f"/practices/{draft.pk}/archive/", {"reason": "Not going ahead"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.ARCHIVED and draft.published_at is None


def test_staff_publishing_through_the_admin_status_field_dates_the_entry(rf, teacher, staff):
    draft = PracticeFactory(author=teacher, status=Status.DRAFT, published_at=None)
    draft.status = Status.PUBLISHED
    request = rf.post("/admin/")
    request.user = staff
    site._registry[Practice].save_model(request, draft, form=None, change=True)
    draft.refresh_from_db()
    assert draft.status == Status.PUBLISHED and draft.published_at is not None
