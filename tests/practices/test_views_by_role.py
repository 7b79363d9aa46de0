"""Every practice view, tried by every persona, a teacher of another school and an anonymous visitor."""

import pytest
from django.core.files.base import ContentFile

from tests.factories import PracticeFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["teacher", "principal", "leader", "staff", "other_teacher"]

# The practice is the teacher's, shared with the whole district.
GET_EXPECTED = {
    "list": {"teacher": 200, "principal": 200, "leader": 200, "staff": 200, "other_teacher": 200},
    "mine": {"teacher": 200, "principal": 200, "leader": 200, "staff": 200, "other_teacher": 200},
    "create": {"teacher": 200, "principal": 200, "leader": 403, "staff": 403, "other_teacher": 200},
    "detail": {"teacher": 200, "principal": 200, "leader": 200, "staff": 200, "other_teacher": 200},
    "edit": {"teacher": 200, "principal": 403, "leader": 403, "staff": 403, "other_teacher": 403},
    "adapt": {"teacher": 403, "principal": 200, "leader": 403, "staff": 403, "other_teacher": 200},
    "history": {"teacher": 200, "principal": 200, "leader": 200, "staff": 200, "other_teacher": 200},
    "attachment": {"teacher": 200, "principal": 200, "leader": 200, "staff": 200, "other_teacher": 200},
}
POST_EXPECTED = {
    "adopt": {"teacher": 403, "principal": 302, "leader": 302, "staff": 302, "other_teacher": 302},
    "archive": {"teacher": 302, "principal": 302, "leader": 403, "staff": 302, "other_teacher": 403},
    "feature": {"teacher": 403, "principal": 403, "leader": 302, "staff": 302, "other_teacher": 403},
}
POST_DATA = {"adopt": {"adoption-status": "trying"}, "archive": {"reason": "Duplicate"}, "feature": {"note": "Great"}}


def _path(view: str, practice, attachment) -> str:
    return {
        "list": "/practices/",
        "mine": "/practices/mine/",
        "create": "/practices/new/",
        "detail": f"/practices/{practice.pk}/",
        "edit": f"/practices/{practice.pk}/edit/",
        "adapt": f"/practices/{practice.pk}/adapt/",
        "history": f"/practices/{practice.pk}/history/",
        "attachment": f"/practices/{practice.pk}/attachments/{attachment.pk}/",
        "adopt": f"/practices/{practice.pk}/adopt/",
        "archive": f"/practices/{practice.pk}/archive/",
        "feature": f"/practices/{practice.pk}/feature/",
    }[view]


@pytest.fixture
def shared(teacher, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    practice = PracticeFactory(author=teacher, visibility="district")
    attachment = practice.attachments.create(
        file=ContentFile(b"%PDF-1.4 test", name="plan.pdf"),
        original_name="plan.pdf",
        content_type="application/pdf",
        size=13,
        uploaded_by=teacher,
    )
    return practice, attachment


@pytest.mark.parametrize("view", list(GET_EXPECTED))
@pytest.mark.parametrize("name", PERSONAS)
def test_get_views_answer_each_persona(as_user, request, shared, view, name):
    practice, attachment = shared
    response = as_user(request.getfixturevalue(name)).get(_path(view, practice, attachment))
    assert response.status_code == GET_EXPECTED[view][name]


@pytest.mark.parametrize("view", list(POST_EXPECTED))
@pytest.mark.parametrize("name", PERSONAS)
def test_post_views_answer_each_persona(as_user, request, shared, view, name):
    practice, attachment = shared
    response = as_user(request.getfixturevalue(name)).post(_path(view, practice, attachment), POST_DATA[view])
    assert response.status_code == POST_EXPECTED[view][name]


@pytest.mark.parametrize("view", ["detail", "edit", "adapt", "history", "attachment", "adopt", "archive", "feature"])
@pytest.mark.parametrize("name", ["leader", "other_teacher"])
def test_school_only_practice_is_404_outside_the_school(as_user, request, shared, view, name):
    practice, attachment = shared
    practice.visibility = "school"
    practice.save()
    client = as_user(request.getfixturevalue(name))
    path = _path(view, practice, attachment)
    response = client.post(path, POST_DATA.get(view, {})) if view in POST_EXPECTED else client.get(path)
    assert response.status_code == 404


@pytest.mark.parametrize("view", list(GET_EXPECTED) + list(POST_EXPECTED))
def test_anonymous_visitor_is_sent_to_sign_in(client, shared, view):
    practice, attachment = shared
    path = _path(view, practice, attachment)
    response = client.post(path, POST_DATA.get(view, {})) if view in POST_EXPECTED else client.get(path)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("view", ["adopt", "archive", "feature", "unarchive"])
def test_state_changing_views_refuse_get(as_user, staff, shared, view):
    practice, _ = shared
    assert as_user(staff).get(f"/practices/{practice.pk}/{view}/").status_code == 405
