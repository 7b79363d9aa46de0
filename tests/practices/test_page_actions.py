"""Each persona is offered exactly the actions the rules let them take, and nothing else."""

import pytest

from practices.models import Status, Visibility
from tests.factories import PracticeFactory

pytestmark = pytest.mark.django_db

# Where each control of an entry's page leads.
CONTROLS = {
    "edit": 'href="/practices/{pk}/edit/"',
    "adapt": 'href="/practices/{pk}/adapt/"',
    "archive": 'action="/practices/{pk}/archive/"',
    "feature": 'action="/practices/{pk}/feature/"',
    "adopt": 'action="/practices/{pk}/adopt/"',
}
OFFERED = {
    "teacher": {"edit", "archive"},
    "principal": {"adapt", "archive", "adopt"},
    "leader": {"feature", "adopt"},
    "staff": {"archive", "feature", "adopt"},
    "other_teacher": {"adapt", "adopt"},
}
WRITERS = {"teacher", "principal", "other_teacher"}


@pytest.mark.parametrize("name", list(OFFERED))
def test_the_entry_offers_each_persona_only_what_they_may_do(as_user, request, teacher, name):
    practice = PracticeFactory(author=teacher, visibility=Visibility.DISTRICT)
    page = as_user(request.getfixturevalue(name)).get(f"/practices/{practice.pk}/").content.decode()
    offered = {control for control, marker in CONTROLS.items() if marker.format(pk=practice.pk) in page}
    assert offered == OFFERED[name]


@pytest.mark.parametrize("name", list(OFFERED))
def test_only_people_who_write_practices_are_offered_to_share_one(as_user, request, name):
    client = as_user(request.getfixturevalue(name))
    for path in ("/practices/", "/practices/mine/"):
        offered = 'href="/practices/new/"' in client.get(path).content.decode()
        assert offered == (name in WRITERS), path


def test_an_archived_entry_offers_its_author_neither_edit_nor_archive(as_user, teacher):
    practice = PracticeFactory(author=teacher, status=Status.ARCHIVED, archived_by=teacher)
    page = as_user(teacher).get(f"/practices/{practice.pk}/").content.decode()
    for control in ("edit", "archive"):
        assert CONTROLS[control].format(pk=practice.pk) not in page
    assert "Bring back from the archive" in page
