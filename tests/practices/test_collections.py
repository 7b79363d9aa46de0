"""Collections: practices saved with a note into named collections, private or shared with the owner's
school or a team; each reader sees a collection only if it is theirs or shared with them, and in it
only the practices they may open."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from practices.models import Collection, CollectionItem, CollectionSharing, Visibility
from tests.factories import PracticeFactory, PrincipalFactory, TeacherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(other_teacher):
    return PracticeFactory(author=other_teacher, title="Number talks", visibility=Visibility.DISTRICT)


def _collection(owner, name="Fall PLC", sharing=CollectionSharing.PRIVATE, members=()):
    collection = Collection.objects.create(
        owner=owner, name=name, sharing=sharing, school=owner.school if sharing == CollectionSharing.SCHOOL else None
    )
    collection.members.set(members)
    return collection


def test_saving_a_practice_into_a_new_collection_with_a_note(as_user, teacher, published):
    client = as_user(teacher)
    assert "Save to a collection" in client.get(f"/practices/{published.pk}/").content.decode()
    response = client.post(
        f"/practices/{published.pk}/save/", {"collection": "", "new_name": "Try in spring", "note": "Ask Kenji first."}
    )
    assert response.status_code == 302 and response["Location"] == published.get_absolute_url()
    collection = Collection.objects.get()
    assert (collection.owner, collection.name, collection.sharing) == (teacher, "Try in spring", "private")
    item = collection.items.get()
    assert (item.practice, item.note, item.added_by) == (published, "Ask Kenji first.", teacher)
    page = client.get(collection.get_absolute_url()).content.decode()
    assert "Number talks" in page and "Ask Kenji first." in page
    assert "Try in spring" in client.get("/collections/").content.decode()


def test_saving_again_keeps_one_entry_with_the_newest_note(as_user, teacher, published):
    collection = _collection(teacher)
    client = as_user(teacher)
    for note in ("First thought.", "Second thought."):
        client.post(f"/practices/{published.pk}/save/", {"collection": collection.pk, "note": note})
    assert list(CollectionItem.objects.values_list("note", flat=True)) == ["Second thought."]
    assert "already in it" in client.get(f"/practices/{published.pk}/save/").content.decode()


def test_a_save_without_a_collection_or_a_name_says_so(as_user, teacher, published):
    _collection(teacher, name="Spring")
    client = as_user(teacher)
    response = client.post(f"/practices/{published.pk}/save/", {"collection": "", "new_name": "", "note": "Kept"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose one of your collections, or name a new one." in page and "Kept" in page
    response = client.post(f"/practices/{published.pk}/save/", {"collection": "", "new_name": "spring"})
    assert "You already have a collection named “spring”" in response.content.decode()
    assert not CollectionItem.objects.exists()


def test_nobody_saves_what_they_may_not_see_or_into_someone_elses_collection(
    as_user, teacher, principal, other_teacher
):
    kept = PracticeFactory(author=teacher, visibility=Visibility.SCHOOL)
    assert as_user(other_teacher).get(f"/practices/{kept.pk}/save/").status_code == 404
    theirs = _collection(principal)
    shared = PracticeFactory(author=other_teacher)
    response = as_user(teacher).post(f"/practices/{shared.pk}/save/", {"collection": theirs.pk})
    assert response.status_code == 400
    assert not CollectionItem.objects.exists()


def test_a_private_collection_is_its_owners_alone(as_user, teacher, principal, staff, published):
    collection = _collection(teacher)
    CollectionItem.objects.create(collection=collection, practice=published)
    for person in (principal, staff):
        assert as_user(person).get(collection.get_absolute_url()).status_code == 404
        assert "Fall PLC" not in as_user(person).get("/collections/").content.decode()


def test_a_school_collection_is_seen_at_the_school_only(as_user, teacher, principal, other_teacher, published):
    collection = _collection(teacher, sharing=CollectionSharing.SCHOOL)
    CollectionItem.objects.create(collection=collection, practice=published, note="For grade 4.")
    page = as_user(principal).get(collection.get_absolute_url()).content.decode()
    assert "Number talks" in page and "For grade 4." in page
    assert "Fall PLC" in as_user(principal).get("/collections/").content.decode()
    assert as_user(other_teacher).get(collection.get_absolute_url()).status_code == 404
    # Colleagues read it; only its owner changes it.
    assert as_user(principal).get(f"/collections/{collection.pk}/edit/").status_code == 403
    item = collection.items.get()
    assert (
        as_user(principal).post(f"/collections/{collection.pk}/items/{item.pk}/", {"action": "remove"}).status_code
        == 403
    )


def test_a_collection_shows_each_reader_only_the_practices_they_may_open(as_user, teacher, other_teacher, published):
    kept_in_school = PracticeFactory(author=teacher, title="Our hallway routine", visibility=Visibility.SCHOOL)
    collection = _collection(teacher, sharing=CollectionSharing.TEAM, members=[other_teacher])
    CollectionItem.objects.create(collection=collection, practice=kept_in_school, note="Hallway note")
    CollectionItem.objects.create(collection=collection, practice=published)
    page = as_user(other_teacher).get(collection.get_absolute_url()).content.decode()
    assert "Number talks" in page
    assert "Our hallway routine" not in page and "Hallway note" not in page
    listing = as_user(other_teacher).get("/collections/").content.decode()
    assert "1 practice ·" in listing
    assert "2 practices ·" in as_user(teacher).get("/collections/").content.decode()
    hidden_item = collection.items.get(practice=kept_in_school)
    path = f"/collections/{collection.pk}/items/{hidden_item.pk}/"
    assert as_user(other_teacher).post(path, {"action": "remove"}).status_code == 404


def test_a_team_adds_and_annotates_but_only_the_owner_changes_the_collection(
    as_user, teacher, principal, other_teacher, published
):
    client = as_user(teacher)
    response = client.post(
        "/collections/new/",
        {"name": "Maths PLC", "description": "", "sharing": "team", "team": f"{other_teacher.email}, principal"},
    )
    assert response.status_code == 302
    collection = Collection.objects.get()
    assert set(collection.members.all()) == {other_teacher, principal}
    member = as_user(other_teacher)
    assert (
        member.post(f"/practices/{published.pk}/save/", {"collection": collection.pk, "note": "Try it"}).status_code
        == 302
    )
    item = collection.items.get()
    assert item.added_by == other_teacher
    assert (
        member.post(f"/collections/{collection.pk}/items/{item.pk}/", {f"item-{item.pk}-note": "Tried it"}).status_code
        == 302
    )
    assert CollectionItem.objects.get().note == "Tried it"
    assert member.get(f"/collections/{collection.pk}/edit/").status_code == 403
    assert member.post(f"/collections/{collection.pk}/delete/").status_code == 403
    outsider = as_user(TeacherFactory(school=other_teacher.school))
    assert outsider.get(collection.get_absolute_url()).status_code == 404
    # The owner takes the principal out of the team: the collection leaves the principal's list.
    client.post(
        f"/collections/{collection.pk}/edit/",
        {"name": "Maths PLC", "description": "", "sharing": "team", "team": other_teacher.username},
    )
    assert as_user(principal).get(collection.get_absolute_url()).status_code == 404
    assert client.post(f"/collections/{collection.pk}/delete/").status_code == 302
    assert not Collection.objects.exists() and published.pk


def test_a_team_needs_known_colleagues(as_user, teacher):
    client = as_user(teacher)
    response = client.post("/collections/new/", {"name": "PLC", "sharing": "team", "team": "nobody@nowhere.org"})
    assert response.status_code == 400
    assert "Nobody active in the portal is known as: nobody@nowhere.org." in response.content.decode()
    response = client.post("/collections/new/", {"name": "PLC", "sharing": "team", "team": ""})
    assert "Name at least one colleague" in response.content.decode()
    response = client.post("/collections/new/", {"name": "PLC", "sharing": "school"})
    assert response.status_code == 302
    assert Collection.objects.get().school == teacher.school


def test_names_are_unique_per_owner(as_user, teacher, principal):
    _collection(teacher, name="Spring")
    response = as_user(teacher).post("/collections/new/", {"name": " spring ", "sharing": "private"})
    assert response.status_code == 400
    assert "You already have a collection named “spring”." in response.content.decode()
    assert as_user(principal).post("/collections/new/", {"name": "Spring", "sharing": "private"}).status_code == 302


def test_the_district_office_cannot_share_with_a_school_it_does_not_have(as_user, leader):
    page = as_user(leader).get("/collections/new/").content.decode()
    assert 'value="school"' not in page
    assert as_user(leader).post("/collections/new/", {"name": "Ideas", "sharing": "school"}).status_code == 400


def _count(client, path):
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_collection_pages_run_a_fixed_number_of_queries(as_user, teacher, school, other_teacher):
    """The list (collections with their visible counts), a collection (it, its team, its items with their
    practices, schools and authors) and the save page (my collections, which hold it): fixed."""
    client = as_user(teacher)
    collection = _collection(teacher, sharing=CollectionSharing.TEAM, members=[other_teacher])
    practice = PracticeFactory(author=other_teacher)

    def grow(n):
        for i in range(n):
            extra = _collection(teacher, name=f"Extra {collection.pk}-{Collection.objects.count()}-{i}")
            for _ in range(3):
                item_practice = PracticeFactory(author=TeacherFactory(school=school))
                CollectionItem.objects.create(collection=extra, practice=item_practice, note="n")
                CollectionItem.objects.create(collection=collection, practice=item_practice, added_by=other_teacher)
            collection.members.add(PrincipalFactory())

    paths = ["/collections/", collection.get_absolute_url(), f"/practices/{practice.pk}/save/"]
    grow(1)
    few = [_count(client, path) for path in paths]
    grow(5)
    assert [_count(client, path) for path in paths] == few
    assert max(few) <= 6
