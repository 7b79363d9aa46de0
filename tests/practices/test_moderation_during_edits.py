"""An author's save or restore does not undo what district staff did to the entry while the
author's request was under way (archived it, featured it): the row is locked and read again."""

import pytest
from reversion.models import Version

from practices import services, views
from practices.models import Practice, Status
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def written(as_user, teacher):
    client = as_user(teacher)
    client.post("/practices/new/", practice_post())
    return client, Practice.objects.get()


@pytest.fixture
def after_loading(monkeypatch):
    """Run something once the view has read the entry, as a concurrent request would."""

    def arrange(action):
        load = views._get_practice_for_user

        def load_then_act(request, pk, **options):
            found = load(request, pk, **options)
            if request.method == "POST":
                action(Practice.objects.get(pk=pk))
            return found

        monkeypatch.setattr(views, "_get_practice_for_user", load_then_act)

    return arrange


def test_featuring_during_the_authors_save_is_kept(written, staff, after_loading):
    client, practice = written
    after_loading(lambda fresh: services.practice_feature(practice=fresh, by=staff, note="Worth a look"))
    assert (
        client.post(f"/practices/{practice.pk}/edit/", practice_post(title="Exit tickets, revised")).status_code == 302
    )
    practice.refresh_from_db()
    assert practice.title == "Exit tickets, revised"
    assert (practice.featured_by, practice.featured_note) == (staff, "Worth a look")


def test_archiving_during_the_authors_save_is_kept(written, staff, after_loading):
    client, practice = written
    after_loading(lambda fresh: services.practice_archive(practice=fresh, by=staff, reason="Duplicate entry"))
    assert (
        client.post(f"/practices/{practice.pk}/edit/", practice_post(title="Exit tickets, revised")).status_code == 302
    )
    practice.refresh_from_db()
    assert (practice.status, practice.archived_reason, practice.archived_by) == (
        Status.ARCHIVED,
        "Duplicate entry",
        staff,
    )
    assert practice.title == "Exit tickets, revised"


def test_archiving_during_a_restore_is_kept(written, staff, after_loading):
    client, practice = written
    first = Version.objects.get_for_object(practice).first()
    client.post(f"/practices/{practice.pk}/edit/", practice_post(title="Renamed"))
    after_loading(lambda fresh: services.practice_archive(practice=fresh, by=staff, reason="Duplicate entry"))
    assert client.post(f"/practices/{practice.pk}/history/{first.pk}/restore/").status_code == 302
    practice.refresh_from_db()
    assert (practice.title, practice.status, practice.archived_reason) == (
        "Exit tickets",
        Status.ARCHIVED,
        "Duplicate entry",
    )
